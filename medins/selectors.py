"""Read queries of the core app."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping

from django.db import connection
from django.db.models import Q

from .benefits.errors import InvalidRequest, MissingParameter
from .benefits.policy import CatalogueEntry, PolicySnapshot
from .models import CatalogueItem, PolicyVersion, Region


def policy_version_in_force(*, region: str, date: dt.date) -> PolicyVersion | None:
    return (
        PolicyVersion.objects.filter(region__code=region, effective_from__lte=date)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=date))
        .order_by("-effective_from")
        .first()
    )


def policy_in_force(*, region: str, date: dt.date) -> PolicySnapshot:
    """The policy snapshot for a region on a date; no version at all is a missing parameter."""
    version = policy_version_in_force(region=region, date=date)
    if version is None:
        region_check(region)
        raise MissingParameter("policy_version", region, date)
    return snapshot_of(version, date=date)


def region_check(region: str) -> None:
    """An unknown region code is the request's fault (invalid_request on `region`), not a missing
    policy: raised before a missing `policy_version` is reported (issue #14)."""
    if not Region.objects.filter(code=region).exists():
        known = ", ".join(Region.objects.order_by("code").values_list("code", flat=True)[:20])
        raise InvalidRequest("region", f"unknown region {region!r} (known: {known})")


def snapshot_of(version: PolicyVersion, *, date: dt.date | None = None,
                catalogue: RegionCatalogue | None = None) -> PolicySnapshot:
    params = dict(version.parameters.values_list("key", "value"))
    region = version.region.code
    return PolicySnapshot(region=region, version=version.code, date=date, params=params,
                          catalogue=catalogue if catalogue is not None else RegionCatalogue(region))


class RegionCatalogue(Mapping):
    """A region's catalogue as the engine reads it: (kind, code) -> CatalogueEntry.

    Loaded on first use (one query), so a quote that never looks at the catalogue (inpatient,
    the outpatient pool) costs nothing more. Validity dates are read when the table has them.
    """

    def __init__(self, region: str):
        self.region = region
        self._items: dict[tuple[str, str], CatalogueEntry] | None = None
        self._boundaries: list[dt.date] | None = None

    def _load(self) -> dict[tuple[str, str], CatalogueEntry]:
        if self._items is None:
            self._items = {
                (item.kind, item.code): CatalogueEntry(
                    kind=item.kind, code=item.code, name=item.name, group=item.group,
                    attributes=item.attributes or {}, valid_from=getattr(item, "valid_from", None),
                    valid_to=getattr(item, "valid_to", None), active=item.active)
                for item in CatalogueItem.objects.filter(region__code=self.region)
            }
        return self._items

    def __getitem__(self, key: tuple[str, str]) -> CatalogueEntry:
        return self._load()[key]

    def era(self, day: dt.date) -> int:
        """Which stretch of time between two validity boundaries of the catalogue holds the day:
        on two days of one era every entry is in force or not alike (a cache key for what is
        read from the catalogue by date, as visit ingestion's terms)."""
        if self._boundaries is None:
            starts = {e.valid_from for e in self._load().values() if e.valid_from is not None}
            ends = {e.valid_to + dt.timedelta(days=1) for e in self._load().values()
                    if e.valid_to is not None and e.valid_to < dt.date.max}
            self._boundaries = sorted(starts | ends)
        return bisect.bisect_right(self._boundaries, day)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class PolicyCache:
    """Per-process memo of snapshots by (region, date) for batch work (quote --many, jobs).

    Versions are few, so one snapshot per version is loaded and reused for every date it covers.
    """

    def __init__(self):
        self._versions: dict[str, list[tuple[PolicyVersion, PolicySnapshot]]] = {}
        self._catalogues: dict[str, RegionCatalogue] = {}

    def _of(self, region: str) -> list[tuple[PolicyVersion, PolicySnapshot]]:
        if region not in self._versions:
            versions = list(PolicyVersion.objects.filter(region__code=region).select_related("region"))
            if not versions:
                region_check(region)
            catalogue = self._catalogues.setdefault(region, RegionCatalogue(region))
            self._versions[region] = [(v, snapshot_of(v, catalogue=catalogue)) for v in versions]
        return self._versions[region]

    def by_code(self, *, region: str, code: str) -> PolicySnapshot:
        """The snapshot of one version by its code (a payment records the version that priced it)."""
        for version, snap in self._of(region):
            if version.code == code:
                return PolicySnapshot(region=snap.region, version=snap.version, date=version.effective_from,
                                      params=snap.params, _cache=snap._cache, catalogue=snap.catalogue)
        raise MissingParameter("policy_version", region, None)

    def get(self, *, region: str, date: dt.date) -> PolicySnapshot:
        for version, snap in self._of(region):
            if version.effective_from <= date and (version.effective_to is None or date <= version.effective_to):
                return PolicySnapshot(region=snap.region, version=snap.version, date=date, params=snap.params,
                                      _cache=snap._cache, catalogue=snap.catalogue)
        raise MissingParameter("policy_version", region, date)


def catalogue_items_in_force(*, on: dt.date):
    """Catalogue items in force on a date: active, valid_from ≤ date ≤ valid_to (an empty end is open)."""
    return CatalogueItem.objects.filter(active=True).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=on), Q(valid_to__isnull=True) | Q(valid_to__gte=on)
    )


def catalogue_items_resolve(*, region: str, kind: str, names: Iterable[str], on: dt.date) -> dict[str, CatalogueItem]:
    """The item of a region's catalogue kind in force on a date for each code, name or alias given
    (as settlement lines write them; surrounding spaces ignored), in ONE query for all of them.

    Returns {given name (stripped): item}; a name naming no item in force is left out. A code wins
    over a name and a name over an alias; the loader refuses two items in force on the same day
    sharing a code, name or alias (reference_data._check_catalogue_names), so nothing else is ambiguous.
    """
    wanted = sorted({n.strip() for n in names if isinstance(n, str) and n.strip()})
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        alias_q = Q(aliases__has_any_keys=wanted)  # jsonb ?| : any of the names is an element of the list
    else:  # SQLite (local default): fetch the items with aliases and match below
        alias_q = ~Q(aliases=[])
    items = catalogue_items_in_force(on=on).filter(region__code=region, kind=kind).filter(
        Q(code__in=wanted) | Q(name__in=wanted) | alias_q
    )
    by_code, by_name, by_alias = {}, {}, {}
    for item in items:
        by_code[item.code] = item
        by_name.setdefault(item.name, item)
        for alias in item.aliases:
            by_alias.setdefault(alias, item)
    found = {}
    for name in wanted:
        item = by_code.get(name) or by_name.get(name) or by_alias.get(name)
        if item is not None:
            found[name] = item
    return found
