"""Outpatient special drugs (门诊特药), per purchase (DOMAIN.md §4.4).

Changchun (98 drugs): the drug's group (catalogue `special_drug`, the group in force on the
service date) sets a first self-pay share of the whole drug amount (`special_drug.first_copay_rate`:
copay_35 35%, copay_10 10%), which replaces the class-B co-pay; the rest is paid at inpatient
ratios of the **approving** hospital's level with a deductible a year of its own, bands on the
year's cumulative eligible amount, fund counting toward `inpatient.fund_annual_cap`; no
catastrophic supplement. A drug item may carry its own `first_copay_rate` attribute (Jinan's six
batch-④ drugs, 40%), which then replaces the group's rate.

Jinan: the 52 basic special drugs are settled inside inpatient or 门规 and the Jinan class-B rule
and inpatient ratios are not in the seeds, so a quote is `missing_parameter` naming the first
missing one (`special_drug.first_copay_rate`, or `inpatient.category_group` for a drug with its
own rate). The four catastrophic-insurance drugs (group in `special_drug.hand_off_groups`) are
paid by the insurer: the quote is refused as `not_eligible` with `hand_off` naming the payer, and
no fund arithmetic is done — the caller records the case and hands it off (claims case type 11).

Parameters: `special_drug.first_copay_rate` (by group), `special_drug.levels`,
`special_drug.band_basis` (`year_cumulative`), `special_drug.deductible_once_per_year` (true),
`special_drug.hand_off_groups` (optional), `inpatient.category_group`, `inpatient.deductible`,
`inpatient.bands`, `inpatient.fund_annual_cap`.

Decisions (DOMAIN.md §4.4 decides the replacement of the class-B co-pay, the approving hospital's
level, the own deductible, cumulative bands and the shared 200 000; these are the rest):
- The first self-pay share is rounded to the cent once; class C drug lines stay personal.
- A level outside `special_drug.levels` (the ten designated hospitals are tertiary) is
  `not_eligible`; a pharmacy's purchase is quoted at its approving hospital's level.
- Out-of-area flags do not apply: a request with flags is refused.
- The drug's catalogue item must be in force on the service date (validity dates, active).
"""

from __future__ import annotations

from . import certified, params
from .certified import Cap, Terms
from .errors import InvalidParameter, InvalidRequest, NotEligible
from .policy import PolicySnapshot, to_decimal
from .request import QuoteRequest
from .result import QuoteResult
from .special_disease import _check_basis

FIRST_COPAY = "special_drug.first_copay_rate"
LEVELS = "special_drug.levels"
BAND_BASIS = "special_drug.band_basis"
DEDUCTIBLE_ONCE = "special_drug.deductible_once_per_year"
HAND_OFF = "special_drug.hand_off_groups"
FUND_CAP = "inpatient.fund_annual_cap"


class HandedOff(NotEligible):
    """The drug is not paid by the fund: record the purchase and hand it to the named payer."""

    def __init__(self, message: str, payer: str):
        super().__init__(message)
        self.payer = payer

    def as_dict(self) -> dict:
        return {**super().as_dict(), "hand_off": self.payer}


def _hand_off(policy: PolicySnapshot, group: str) -> str | None:
    if not policy.has(HAND_OFF):
        return None
    groups = policy.get(HAND_OFF)
    if type(groups) is not dict:
        raise InvalidParameter(HAND_OFF, policy.region, policy.date, "expected a mapping of group to payer")
    return groups.get(group)


def special_drug_terms(policy: PolicySnapshot, level: str, category: str, drug: str) -> Terms:
    """The parameters for one approving level, person category and drug, read once."""
    entry = certified.catalogue_entry(policy, "special_drug", drug, "drug", "a special drug")
    payer = _hand_off(policy, entry.group)
    if payer is not None:
        raise HandedOff(f"drug: {entry.name} ({drug}, group {entry.group}) is paid by {payer}, not by the fund: "
                        f"record the purchase and hand it off ({HAND_OFF})", str(payer))
    own = entry.attributes.get("first_copay_rate")
    if own is not None:
        first_rate = params.check_rate(policy, f"catalogue.special_drug.{drug}.first_copay_rate",
                                                 to_decimal(own))
        first_parameter = f"catalogue.special_drug.{drug}.first_copay_rate"
    else:
        first_rate = params.check_rate(policy, f"{FIRST_COPAY}.{entry.group}",
                                                 policy.lookup(FIRST_COPAY, entry.group))
        first_parameter = FIRST_COPAY
    group = certified.rate_group(policy, category)
    certified.check_level(policy, LEVELS, level, "the special-drug benefit (approving hospital)")
    _check_basis(policy, BAND_BASIS, DEDUCTIBLE_ONCE)
    deductible = certified.inpatient_deductible(policy, level, group)
    bands = certified.inpatient_bands(policy, level, group)
    caps = (Cap("fund_annual_cap", "fund_paid", params.amount(policy, FUND_CAP), FUND_CAP),)
    return Terms(
        benefit="special_drug", version=policy.version, first_rate=first_rate, first_on_class_a=True,
        first_step="special_drug_first_copay", first_parameter=first_parameter, deductible=deductible,
        deductible_parameter="inpatient.deductible", deductible_detail={"level": level, "group": group},
        bands=bands, bands_parameter="inpatient.bands", caps=caps,
        detail={"drug": drug, "name": entry.name, "drug_group": entry.group},
    )


def compute_special_drug(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    terms = special_drug_terms(policy, req.level, req.category, req.drug)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the special-drug benefit")
    return certified.result(req, terms, certified.split(terms, req.bill.class_a, req.bill.class_b, req.year_to_date))
