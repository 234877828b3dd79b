"""The policy snapshot the engine reads: plain values, no ORM.

Callers load the version in force for a region on a date through medins.selectors
(`policy_in_force`, or `PolicyCache` for batch work) and hand its parameters over as a
mapping of key -> JSON value. Amounts and rates are quoted decimal strings in the data files
(the loader and the admin refuse floats, medins.services.reference_data.check_parameter); `get`
converts a parameter to Decimal on its first read and keeps it in the snapshot's cache, which
the snapshots of one `PolicyCache` share: once per version there, once per snapshot otherwise.

The certified outpatient benefits also read the region's catalogue (a special drug's group, a
disease's attributes): `catalogue` maps (kind, code) to a `CatalogueEntry`, plain values the
caller built from the catalogue table (medins.selectors loads it lazily, once per region for a
`PolicyCache`). `catalogue_item` answers only an entry active and valid on the snapshot's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import MissingParameter


def to_decimal(value: Any) -> Any:
    """Recursively turn numeric strings and ints in a JSON value into Decimal; other strings
    (choices such as "add_months") stay strings. A float cannot come from the files or the admin;
    one written to the database some other way is converted through its repr."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, str)):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [to_decimal(v) for v in value]
    if isinstance(value, dict):
        return {k: to_decimal(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One catalogue item as the engine sees it (no ORM)."""

    kind: str
    code: str
    name: str = ""
    group: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    active: bool = True

    def valid_on(self, day: dt.date | None) -> bool:
        if not self.active:
            return False
        if day is None:
            return True
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass
class PolicySnapshot:
    region: str
    version: str
    date: dt.date | None
    params: Mapping[str, Any]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    catalogue: Mapping[tuple[str, str], CatalogueEntry] | None = field(default=None, repr=False, compare=False)

    def catalogue_item(self, kind: str, code: str) -> CatalogueEntry | None:
        """The catalogue entry of this kind and code in force on the snapshot's date, or None
        (unknown, inactive, outside its validity, or no catalogue handed over)."""
        if self.catalogue is None:
            return None
        entry = self.catalogue.get((kind, code))
        if entry is None or not entry.valid_on(self.date):
            return None
        return entry

    def raw(self, key: str) -> Any:
        try:
            return self.params[key]
        except KeyError:
            raise MissingParameter(key, self.region, self.date) from None

    def get(self, key: str) -> Any:
        """The parameter with numbers as Decimal; raises MissingParameter naming the key."""
        try:
            return self._cache[key]
        except KeyError:
            value = to_decimal(self.raw(key))
            self._cache[key] = value
            return value

    def lookup(self, key: str, *path: str) -> Any:
        """A nested entry of a parameter (e.g. deductible by level then category group).

        A missing branch is a missing parameter too, named with its full path.
        """
        value = self.get(key)
        for part in path:
            if not isinstance(value, dict) or part not in value:
                raise MissingParameter(".".join((key, *path)), self.region, self.date)
            value = value[part]
        return value

    def has(self, key: str) -> bool:
        return key in self.params

    def memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        """A value derived from parameters (e.g. a validated rate table), built once per cache:
        per version for the snapshots of a `PolicyCache`, per snapshot otherwise.

        Keys are tuples so they never collide with the parameter keys `get` caches there.
        """
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value
