"""Read queries of the core app."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .benefits.errors import InvalidRequest, MissingParameter
from .benefits.policy import PolicySnapshot
from .models import PolicyVersion, Region


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


def snapshot_of(version: PolicyVersion, *, date: dt.date | None = None) -> PolicySnapshot:
    params = dict(version.parameters.values_list("key", "value"))
    return PolicySnapshot(region=version.region.code, version=version.code, date=date, params=params)


class PolicyCache:
    """Per-process memo of snapshots by (region, date) for batch work (quote --many, jobs).

    Versions are few, so one snapshot per version is loaded and reused for every date it covers.
    """

    def __init__(self):
        self._versions: dict[str, list[tuple[PolicyVersion, PolicySnapshot]]] = {}

    def _of(self, region: str) -> list[tuple[PolicyVersion, PolicySnapshot]]:
        if region not in self._versions:
            versions = list(PolicyVersion.objects.filter(region__code=region).select_related("region"))
            if not versions:
                region_check(region)
            self._versions[region] = [(v, snapshot_of(v)) for v in versions]
        return self._versions[region]

    def by_code(self, *, region: str, code: str) -> PolicySnapshot:
        """The snapshot of one version by its code (a payment records the version that priced it)."""
        for version, snap in self._of(region):
            if version.code == code:
                return PolicySnapshot(region=snap.region, version=snap.version, date=version.effective_from,
                                      params=snap.params, _cache=snap._cache)
        raise MissingParameter("policy_version", region, None)

    def get(self, *, region: str, date: dt.date) -> PolicySnapshot:
        for version, snap in self._of(region):
            if version.effective_from <= date and (version.effective_to is None or date <= version.effective_to):
                return PolicySnapshot(region=snap.region, version=snap.version, date=date, params=snap.params, _cache=snap._cache)
        raise MissingParameter("policy_version", region, date)
