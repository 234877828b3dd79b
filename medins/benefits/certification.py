"""Validity of certifications and approvals (DOMAIN.md §5), pure: the policy decides, the
certification workflow (claims/certifications) asks.

Parameters (decisions of DOMAIN.md §5, in each region's outpatient.yaml):
- `certification.open_ended_kinds`: kinds valid while the person is insured, without an end
  date (chronic, special disease, 两病);
- `certification.validity_days_episodic`: days an approval of an episodic special disease stays
  valid (catalogue attribute `episodic: true`: SPD-011, 012, 013, 029, 036 — 90), counted from
  valid_from inclusive (valid_from + 89 days is the last valid day);
- `certification.special_drug_valid_until`: `year_end` — special-drug approvals end on 31 December
  of the approval year.

`valid_to(policy, kind=..., valid_from=..., episodic=...)` returns the last valid day, or None for
open-ended; a kind the policy does not name is a missing parameter naming
`certification.open_ended_kinds`.
"""

from __future__ import annotations

import datetime as dt

from . import params
from .certified import choices
from .errors import InvalidParameter, MissingParameter
from .policy import PolicySnapshot

OPEN_ENDED = "certification.open_ended_kinds"
EPISODIC_DAYS = "certification.validity_days_episodic"
SPECIAL_DRUG_UNTIL = "certification.special_drug_valid_until"
KINDS = ("chronic", "special_disease", "special_drug", "two_diseases")


def valid_to(policy: PolicySnapshot, *, kind: str, valid_from: dt.date, episodic: bool = False) -> dt.date | None:
    """The last day an approval of this kind granted on `valid_from` is valid (None: open-ended)."""
    if kind == "special_drug":
        if policy.get(SPECIAL_DRUG_UNTIL) != "year_end":
            raise InvalidParameter(SPECIAL_DRUG_UNTIL, policy.region, policy.date, "only 'year_end' is implemented")
        return dt.date(valid_from.year, 12, 31)
    if kind == "special_disease" and episodic:
        return valid_from + dt.timedelta(days=params.whole_number(policy, EPISODIC_DAYS) - 1)
    if kind in choices(policy, OPEN_ENDED):
        return None
    raise MissingParameter(f"{OPEN_ENDED}.{kind}", policy.region, policy.date)
