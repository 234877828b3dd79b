"""Outpatient special diseases (门诊特殊疾病, Changchun 43), per visit (DOMAIN.md §4.1).

Certified at a secondary-or-higher hospital and paid only there, at inpatient ratios, with one
deductible a year. The caller has checked the certification (contracts/quote.md) and passes
the certifying institution's level, the disease (catalogue `special_disease`) and the year's
figures of this benefit.

Steps (medins/benefits/certified.py): class C personal; class-B co-pay at
`inpatient.class_b_copay_rate`; the inpatient deductible of the level and the person's rate
group (`inpatient.deductible`), once a year and amount-based; `inpatient.bands` of the level on
the year's cumulative eligible amount; the disease's own cap, then the pool-fund cap shared with
inpatient (`inpatient.fund_annual_cap`).

Parameters: `special_disease.levels`, `special_disease.annual_cap_by_disease` (an amount, or
amounts by person category: 苯丙酮尿症 SPD-041), `special_disease.band_basis`
(`year_cumulative`), `special_disease.deductible_once_per_year` (true), and the `inpatient.*`
ones named above.

Decisions (DOMAIN.md §4.1 decides the deductible, the cumulative bands, the shared 200 000 and
no catastrophic supplement; these are the rest, each also in the parameters' descriptions):
- A level outside `special_disease.levels` (primary, village) is `not_eligible`.
- Out-of-area flags do not apply (the benefit is paid only at the certifying institution): a
  request with flags is refused.
- The deductible is shared across all special diseases (one benefit account a year); a later
  visit at a higher level pays only the difference (amount-based, as DOMAIN.md says).
- The own cap of a disease is read by the person's category on the service date (a minor
  turning 18 mid-year moves from 15 000 to 10 000; what was paid counts against the new cap).
- The disease's own cap is applied before the 200 000 shared with inpatient; both cut the fund.
"""

from __future__ import annotations

from . import certified, params
from .certified import Cap, Terms
from .errors import InvalidParameter, InvalidRequest
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import QuoteResult

LEVELS = "special_disease.levels"
CAPS = "special_disease.annual_cap_by_disease"
BAND_BASIS = "special_disease.band_basis"
DEDUCTIBLE_ONCE = "special_disease.deductible_once_per_year"
CLASS_B_COPAY_RATE = "inpatient.class_b_copay_rate"
FUND_CAP = "inpatient.fund_annual_cap"


def _check_basis(policy: PolicySnapshot, key: str, once_key: str) -> None:
    if policy.get(key) != "year_cumulative":
        raise InvalidParameter(key, policy.region, policy.date, "only 'year_cumulative' is implemented")
    if not certified.flag(policy, once_key):
        raise InvalidParameter(once_key, policy.region, policy.date, "only a once-a-year deductible is implemented")


def disease_cap(policy: PolicySnapshot, disease: str, category: str) -> Cap | None:
    caps = policy.get(CAPS)
    if type(caps) is not dict:
        raise InvalidParameter(CAPS, policy.region, policy.date, "expected a mapping of disease code to cap")
    if disease not in caps:
        return None
    if isinstance(caps[disease], dict):
        return Cap("disease_annual_cap", "disease_fund_paid", certified.amount_at(policy, CAPS, disease, category),
                   f"{CAPS}.{disease}.{category}")
    return Cap("disease_annual_cap", "disease_fund_paid", certified.amount_at(policy, CAPS, disease), f"{CAPS}.{disease}")


def special_disease_terms(policy: PolicySnapshot, level: str, category: str, disease: str) -> Terms:
    """The parameters for one certifying level, person category and disease, read once."""
    certified.check_level(policy, LEVELS, level, "the special-disease benefit")
    _check_basis(policy, BAND_BASIS, DEDUCTIBLE_ONCE)
    entry = certified.catalogue_entry(policy, "special_disease", disease, "disease", "a special disease")
    group = certified.rate_group(policy, category)
    copay = params.rate(policy, CLASS_B_COPAY_RATE)
    deductible = certified.inpatient_deductible(policy, level, group)
    bands = certified.inpatient_bands(policy, level, group)
    caps = []
    own = disease_cap(policy, disease, category)
    if own is not None:
        caps.append(own)
    caps.append(Cap("fund_annual_cap", "fund_paid", params.amount(policy, FUND_CAP), FUND_CAP))
    return Terms(
        benefit="special_disease", version=policy.version, first_rate=copay, first_on_class_a=False,
        first_step="class_b_copay", first_parameter=CLASS_B_COPAY_RATE, deductible=deductible,
        deductible_parameter="inpatient.deductible", deductible_detail={"level": level, "group": group},
        bands=bands, bands_parameter="inpatient.bands", caps=tuple(caps),
        detail={"disease": disease, "name": entry.name},
    )


def compute_special_disease(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    terms = special_disease_terms(policy, req.level, req.category, req.disease)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the special-disease benefit")
    return certified.result(req, terms, certified.split(terms, req.bill.class_a, req.bill.class_b, req.year_to_date))
