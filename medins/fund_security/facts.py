"""The plain facts the fund-security rules read (contracts/fund-security.md "Request").

Frozen dataclasses, no ORM: `parse_request` builds them from the contract's JSON, a caller
holding database rows builds them directly (e.g. the nightly job) and calls `run_rules`.

Derived values every rule uses are computed once, when a settlement is built:
- `day`: the service date of the contract, `admitted` for a stay, `service_date` otherwise;
- `stay_first` / `stay_last`: the stay days run from `admitted` to the day before `discharged`;
  a stay with `admitted` equal to `discharged` (a day surgery) has one stay day, its `admitted`
  day (contract "Precise readings: Stays");
- `stay_day_count`: `discharged` − `admitted`, and 1 for that one-day stay.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

BENEFITS = frozenset({
    "inpatient", "day_surgery", "special_disease", "chronic", "outpatient_pool", "special_drug",
    "two_diseases", "accident", "maternity", "long_term_care",
})
STAY_BENEFITS = frozenset({"inpatient", "day_surgery"})
# Benefits paid only with a certification (contract: certification_mismatch).
CERTIFIED_BENEFITS = frozenset({"chronic", "special_disease", "special_drug", "two_diseases"})
# "Outpatient" of overlapping_care (contract "Precise readings: Overlapping care").
OUTPATIENT_BENEFITS = frozenset({"outpatient_pool", "chronic", "special_disease", "special_drug", "two_diseases"})
# Settlements whose days' supply is measured against max_days_supply.chronic (else acute).
CHRONIC_SUPPLY_BENEFITS = CERTIFIED_BENEFITS
LINE_KINDS = frozenset({"bed", "nursing", "meal", "drug", "exam", "treatment", "material", "care", "other"})
VIA = frozenset({"direct", "manual"})
ONE_DAY = dt.timedelta(days=1)
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end], both days included; end None is open-ended."""

    start: dt.date
    end: dt.date | None = None

    def contains(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Certification:
    benefit: str
    institution: str
    start: dt.date
    end: dt.date | None = None
    disease: str | None = None
    drug: str | None = None  # special drugs name the drug instead of a disease
    dispensing: tuple[str, ...] = ()  # pharmacies listed on a special-drug approval

    @property
    def subject(self) -> str | None:
        return self.drug if self.benefit == "special_drug" else self.disease

    def valid_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def serves(self, institution: str) -> bool:
        return institution == self.institution or institution in self.dispensing


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    covered: tuple[Period, ...] = ()
    died: dt.date | None = None
    grey_list: tuple[Period, ...] = ()
    certifications: tuple[Certification, ...] = ()

    def covered_on(self, day: dt.date) -> bool:
        if self.died is not None and day > self.died:
            return False
        return any(p.contains(day) for p in self.covered)

    def grey_listed_on(self, day: dt.date) -> bool:
        return any(p.contains(day) for p in self.grey_list)


@dataclass(frozen=True, slots=True)
class Line:
    date: dt.date
    item: str
    kind: str
    quantity: Decimal
    amount: Decimal
    drug: str | None = None
    days_supply: int | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    id: str
    person: str
    institution: str
    benefit: str
    total: Decimal
    fund: Decimal
    lines: tuple[Line, ...] = ()
    via: str = "direct"
    third_party_paid: Decimal = ZERO
    invoice: tuple[str, str] | None = None  # (issuer, number)
    admitted: dt.date | None = None
    discharged: dt.date | None = None
    diagnosis: str | None = None
    transfer: bool = False
    service_date: dt.date | None = None
    disease: str | None = None
    drug: str | None = None
    birth_date: dt.date | None = None
    # Derived (see the module docstring).
    day: dt.date = field(init=False, repr=False, compare=False)
    stay_last: dt.date | None = field(init=False, repr=False, compare=False)
    stay_day_count: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.benefit in STAY_BENEFITS:
            if self.admitted is None or self.discharged is None:
                raise ValueError(f"settlement {self.id}: a stay needs admitted and discharged")
            if self.discharged < self.admitted:
                raise ValueError(f"settlement {self.id}: discharged before admitted")
            days = (self.discharged - self.admitted).days
            last = self.admitted if days == 0 else self.discharged - ONE_DAY
            object.__setattr__(self, "day", self.admitted)
            object.__setattr__(self, "stay_last", last)
            object.__setattr__(self, "stay_day_count", max(days, 1))
        else:
            if self.service_date is None:
                raise ValueError(f"settlement {self.id}: service_date is required")
            object.__setattr__(self, "day", self.service_date)
            object.__setattr__(self, "stay_last", None)
            object.__setattr__(self, "stay_day_count", 0)

    @property
    def is_stay(self) -> bool:
        return self.benefit in STAY_BENEFITS

    @property
    def stay_first(self) -> dt.date | None:
        return self.admitted if self.benefit in STAY_BENEFITS else None

    def on_stay_day(self, day: dt.date) -> bool:
        return self.stay_last is not None and self.admitted <= day <= self.stay_last


@dataclass(frozen=True)
class Facts:
    """One request's facts: the region and date whose policy applies, persons by id, settlements.

    Indexes the rules share (settlements by person, stays by person) are built on first use and
    kept in `_memo`, so eleven rules over 200 000 settlements group them once.
    """

    region: str
    as_of: dt.date
    persons: Mapping[str, Person]
    settlements: tuple[Settlement, ...]
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, *, region: str, as_of: dt.date, persons: Iterable[Person], settlements: Iterable[Settlement]) -> Facts:
        """Facts from records built by the caller; refuses (ValueError) what parse_request refuses
        as an invalid request and the dataclasses cannot: a person or settlement id given twice,
        a settlement of an unknown person."""
        people = {}
        for p in persons:
            if p.id in people:
                raise ValueError(f"person {p.id} is given twice")
            people[p.id] = p
        settlements = tuple(settlements)
        ids = set()
        for s in settlements:
            if s.id in ids:
                raise ValueError(f"settlement {s.id} is given twice")
            if s.person not in people:
                raise ValueError(f"settlement {s.id} names unknown person {s.person}")
            ids.add(s.id)
        return cls(region=region, as_of=as_of, persons=people, settlements=settlements)

    def by_person(self) -> dict[str, list[Settlement]]:
        """person id -> that person's settlements, in input order."""
        try:
            return self._memo["by_person"]
        except KeyError:
            index: dict[str, list[Settlement]] = defaultdict(list)
            for s in self.settlements:
                index[s.person].append(s)
            self._memo["by_person"] = index = dict(index)
            return index

    def stays_by_person(self) -> dict[str, list[Settlement]]:
        """person id -> that person's stays sorted by (admitted, id)."""
        try:
            return self._memo["stays_by_person"]
        except KeyError:
            index: dict[str, list[Settlement]] = defaultdict(list)
            for s in self.settlements:
                if s.benefit in STAY_BENEFITS:
                    index[s.person].append(s)
            for stays in index.values():
                stays.sort(key=_stay_order)
            self._memo["stays_by_person"] = index = dict(index)
            return index


def _stay_order(s: Settlement):
    return (s.admitted, s.id)
