"""Hypertension/diabetes scheme (门诊“两病”, Jinan), per visit (DOMAIN.md §4.3).

For a person registered for `disease` (hypertension or diabetes) without a 门规 certification
for it (the caller checks both), at a designated institution below secondary level: the fund
pays `two_diseases.rate` (50%) of A + B, no deductible, at most the disease's yearly cap
`two_diseases.annual_cap_by_disease` (300; `diabetes_insulin` 400 for a diabetic on insulin on
the service date) against `year_to_date.fund_paid` for that disease.

Parameters: `two_diseases.levels`, `two_diseases.rate`, `two_diseases.annual_cap_by_disease`,
`two_diseases.deductible` (0), `two_diseases.class_b_copay_rate` (0),
`two_diseases.overflow_to_outpatient_pool` (false).

Decisions (DOMAIN.md §4.3 decides the fund caps, the insulin rule and no spill into the pool):
- No class-B co-pay and no deductible, both as parameters ("0").
- `insulin_user` matters for diabetes only; for hypertension it is accepted and ignored.
- The 400 applies from the day the person is an insulin user: the caller passes the flag of the
  service date and the year's fund for the disease, so what was paid earlier counts (a switch
  mid-year raises the room by 100).
- An exhausted cap leaves the rest personal: `two_diseases.overflow_to_outpatient_pool` must be
  false (the lines are never re-quoted under the pool); anything else is refused as a
  malformed parameter rather than guessed.
- Out-of-area flags do not apply: a request with flags is refused.
"""

from __future__ import annotations

from . import certified, params
from .certified import Cap, Terms
from .errors import InvalidParameter, InvalidRequest
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import QuoteResult

LEVELS = "two_diseases.levels"
RATE = "two_diseases.rate"
CAPS = "two_diseases.annual_cap_by_disease"
DEDUCTIBLE = "two_diseases.deductible"
COPAY = "two_diseases.class_b_copay_rate"
OVERFLOW = "two_diseases.overflow_to_outpatient_pool"
DISEASES = ("hypertension", "diabetes")


def two_diseases_terms(policy: PolicySnapshot, *, level: str, disease: str, insulin_user: bool) -> Terms:
    if disease not in DISEASES:
        raise InvalidRequest("disease", "must be hypertension or diabetes")
    certified.check_level(policy, LEVELS, level, "the 两病 scheme")
    rate = params.rate(policy, RATE)
    copay = params.rate(policy, COPAY)
    deductible = params.amount(policy, DEDUCTIBLE)
    if certified.flag(policy, OVERFLOW):
        raise InvalidParameter(OVERFLOW, policy.region, policy.date, "only false is implemented (DOMAIN.md §4.3)")
    key = "diabetes_insulin" if disease == "diabetes" and insulin_user else disease
    cap = Cap("disease_annual_cap", "fund_paid", certified.amount_at(policy, CAPS, key), f"{CAPS}.{key}")
    return Terms(
        benefit="two_diseases", version=policy.version, first_rate=copay, first_on_class_a=False,
        first_step="class_b_copay", first_parameter=COPAY, deductible=deductible, deductible_parameter=DEDUCTIBLE,
        deductible_detail={}, bands=((None, rate),), bands_parameter=RATE, caps=(cap,),
        detail={"disease": disease, "insulin_user": insulin_user},
    )


def compute_two_diseases(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    terms = two_diseases_terms(policy, level=req.level, disease=req.disease, insulin_user=req.insulin_user)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the 两病 scheme")
    return certified.result(req, terms, certified.split(terms, req.bill.class_a, req.bill.class_b, req.year_to_date))
