"""Outpatient chronic diseases (门诊慢性病; Jinan 门规), per visit (DOMAIN.md §4.2).

The region's rule is data (`chronic.rule`):

`flat_rate_pooled_cap` — Changchun (18 diseases):
- class C personal; class-B co-pay `chronic.class_b_copay_rate` (0) and deductible
  `chronic.deductible` (0), both decisions of DOMAIN.md §4.2 kept as parameters;
- fund = `chronic.rate` (60%) of A + B;
- one pooled yearly fund cap for the person: the highest `chronic.annual_cap_by_disease` among
  `certified_diseases` + `chronic.extra_disease_increment` (480) for each further one, against
  `year_to_date.fund_paid`;
- then the shared outpatient total `chronic.shared_annual_cap` (6 500, for the benefits in
  `chronic.shared_cap_benefits`) against `year_to_date.shared_fund_paid` (this benefit included).

`inpatient_ratio_by_disease` — Jinan 门规 (the visit treats `disease`):
- deductible `chronic.deductible` (200) once per person per year across diseases
  (`chronic.deductible_scope: per_person_year`), amount-based; not charged and not consumed at
  the levels, for the person flags or for the diseases of `chronic.deductible_exemptions`;
- ratio: `chronic.dialysis_diseases` at `chronic.dialysis_rate` (`township_health_centre` at a
  primary institution flagged `institution.township`, else `default`); `chronic.rate_floor_diseases`
  at the inpatient ratio of the level but at least `chronic.rate_floor`; others at the inpatient
  ratio. Jinan has no `inpatient.*` parameters, so those two groups are `missing_parameter`
  naming `inpatient.bands`;
- class B: Jinan's class-B first self-pay is not in the seeds (`chronic.class_b_copay_rate` is not
  defined for 370100), so a visit with class-B lines is `missing_parameter`; class A only can be
  computed (dialysis);
- caps: `chronic.annual_cap_by_disease` (hypertension 1100, diabetes 1800) against
  `year_to_date.fund_paid` of that disease; other diseases `chronic.other_diseases_cap` (250 000,
  shared with inpatient) against `year_to_date.fund_paid` toward that shared cap.

Decisions where DOMAIN.md is silent (also in the parameters' descriptions):
- A level outside `chronic.levels` is `not_eligible` (Changchun: the treatment institutions are
  the district hospitals, secondary, and community/township centres, primary; Jinan: level 1
  and above, "一级及以上医院").
- Changchun: `disease` is optional (the cap is over every certified disease); when given it must
  be one of `certified_diseases`. Jinan: `disease` is required.
- Every code must be an item of the region's `chronic_disease` catalogue in force on the date.
- The "inpatient ratio" (Jinan) runs on the year's cumulative eligible amount of the benefit
  (`year_to_date.eligible_counted`), as the special diseases do.
- Out-of-area flags do not apply: a request with flags is refused.

Fast path: `chronic_terms(policy, level=..., category=..., certified_diseases=..., disease=...,
poverty_registered=..., township=...)` once per date and person situation, then
`medins.benefits.certified.split(terms, class_a, class_b, ytd)` per visit.
"""

from __future__ import annotations

from decimal import Decimal

from . import certified, params
from .certified import Cap, Terms
from .errors import InvalidParameter, InvalidRequest, MissingParameter
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import QuoteResult
from .rounding import ZERO

RULE = "chronic.rule"
LEVELS = "chronic.levels"
RATE = "chronic.rate"
COPAY = "chronic.class_b_copay_rate"
DEDUCTIBLE = "chronic.deductible"
DEDUCTIBLE_SCOPE = "chronic.deductible_scope"
EXEMPTIONS = "chronic.deductible_exemptions"
CAPS = "chronic.annual_cap_by_disease"
CAP_BASIS = "chronic.cap_basis"
COMBINED_RULE = "chronic.combined_cap_rule"
INCREMENT = "chronic.extra_disease_increment"
SHARED_CAP = "chronic.shared_annual_cap"
SHARED_BENEFITS = "chronic.shared_cap_benefits"
DIALYSIS_RATE = "chronic.dialysis_rate"
DIALYSIS_DISEASES = "chronic.dialysis_diseases"
FLOOR = "chronic.rate_floor"
FLOOR_DISEASES = "chronic.rate_floor_diseases"
OTHER_CAP = "chronic.other_diseases_cap"

RULES = ("flat_rate_pooled_cap", "inpatient_ratio_by_disease")


def shared_cap(policy: PolicySnapshot, benefit: str) -> Cap | None:
    """The shared outpatient total (Changchun 6 500) when this benefit is one of those sharing it."""
    if not policy.has(SHARED_BENEFITS):
        return None
    if benefit not in certified.choices(policy, SHARED_BENEFITS):
        return None
    return Cap("shared_annual_cap", "shared_fund_paid", params.amount(policy, SHARED_CAP), SHARED_CAP)


def _codes(policy: PolicySnapshot, certified_diseases: tuple[str, ...]) -> None:
    for i, code in enumerate(certified_diseases):
        certified.catalogue_entry(policy, "chronic_disease", code, f"certified_diseases[{i}]", "a chronic disease")


def chronic_terms(policy: PolicySnapshot, *, level: str, category: str, certified_diseases: tuple[str, ...],
                  disease: str | None = None, poverty_registered: bool = False, township: bool = False) -> Terms:
    rule = policy.get(RULE)
    if rule not in RULES:
        raise InvalidParameter(RULE, policy.region, policy.date, f"expected one of {', '.join(RULES)}")
    certified.check_level(policy, LEVELS, level, "the chronic-disease benefit")
    _codes(policy, certified_diseases)
    if rule == "flat_rate_pooled_cap":
        return _flat_terms(policy, level, certified_diseases)
    if disease is None:
        raise InvalidRequest("disease", "is required: the region's chronic benefit depends on the disease treated")
    return _by_disease_terms(policy, level, category, disease, poverty_registered, township)


def _flat_terms(policy: PolicySnapshot, level: str, diseases: tuple[str, ...]) -> Terms:
    if policy.get(CAP_BASIS) != "fund":
        raise InvalidParameter(CAP_BASIS, policy.region, policy.date, "only 'fund' is implemented")
    if policy.get(COMBINED_RULE) != "highest_plus_increment":
        raise InvalidParameter(COMBINED_RULE, policy.region, policy.date, "only 'highest_plus_increment' is implemented")
    rate = params.rate(policy, RATE)
    copay = params.rate(policy, COPAY)
    deductible = params.amount(policy, DEDUCTIBLE)
    caps_by_disease = {code: certified.amount_at(policy, CAPS, code) for code in diseases}
    highest = max(caps_by_disease.values())
    increment = params.amount(policy, INCREMENT)
    pooled = highest + increment * (len(diseases) - 1)
    caps = [Cap("chronic_annual_cap", "fund_paid", pooled, CAPS)]
    shared = shared_cap(policy, "chronic")
    if shared is not None:
        caps.append(shared)
    return Terms(
        benefit="chronic", version=policy.version, first_rate=copay, first_on_class_a=False,
        first_step="class_b_copay", first_parameter=COPAY, deductible=deductible, deductible_parameter=DEDUCTIBLE,
        deductible_detail={}, bands=((None, rate),), bands_parameter=RATE, caps=tuple(caps),
        detail={"certified_diseases": list(diseases), "highest_cap": str(highest),
                "extra_disease_increment": str(increment), "pooled_cap": str(pooled)},
    )


def _exemption(policy: PolicySnapshot, level: str, disease: str, poverty_registered: bool) -> str | None:
    value = policy.get(EXEMPTIONS)
    if type(value) is not dict or not all(type(v) is list for v in value.values()):
        raise InvalidParameter(EXEMPTIONS, policy.region, policy.date, "expected {levels: [], person_flags: [], diseases: []}")
    if level in value.get("levels", ()):
        return f"level:{level}"
    if poverty_registered and "poverty_registered" in value.get("person_flags", ()):
        return "person:poverty_registered"
    if disease in value.get("diseases", ()):
        return f"disease:{disease}"
    return None


def _by_disease_terms(policy: PolicySnapshot, level: str, category: str, disease: str, poverty: bool,
                      township: bool) -> Terms:
    entry = certified.catalogue_entry(policy, "chronic_disease", disease, "disease", "a chronic disease")
    if policy.get(DEDUCTIBLE_SCOPE) != "per_person_year":
        raise InvalidParameter(DEDUCTIBLE_SCOPE, policy.region, policy.date, "only 'per_person_year' is implemented")
    exempt = _exemption(policy, level, disease, poverty)
    deductible = ZERO if exempt else params.amount(policy, DEDUCTIBLE)
    detail = {"exempt": exempt} if exempt else {}
    group = None
    if disease in certified.choices(policy, DIALYSIS_DISEASES):
        key = "township_health_centre" if township else "default"
        rate = params.check_rate(policy, f"{DIALYSIS_RATE}.{key}", policy.lookup(DIALYSIS_RATE, key))
        bands: tuple = ((None, rate),)
        bands_parameter = DIALYSIS_RATE
    else:
        policy.lookup("inpatient.bands", level)  # Jinan: none, named before anything else
        group = certified.rate_group(policy, category)
        bands = certified.inpatient_bands(policy, level, group)
        bands_parameter = "inpatient.bands"
        if disease in certified.choices(policy, FLOOR_DISEASES):
            floor = params.rate(policy, FLOOR)
            bands = tuple((upto, rate if rate > floor else floor) for upto, rate in bands)
            bands_parameter = FLOOR
    first_rate: Decimal | None = None
    missing = None
    if policy.has(COPAY):
        first_rate = params.rate(policy, COPAY)
    else:
        missing = MissingParameter(COPAY, policy.region, policy.date)
    own = policy.get(CAPS)
    if type(own) is not dict:
        raise InvalidParameter(CAPS, policy.region, policy.date, "expected a mapping of disease code to cap")
    if disease in own:
        cap = Cap("disease_annual_cap", "fund_paid", certified.amount_at(policy, CAPS, disease), f"{CAPS}.{disease}")
    else:
        cap = Cap("fund_annual_cap", "fund_paid", params.amount(policy, OTHER_CAP), OTHER_CAP)
    return Terms(
        benefit="chronic", version=policy.version, first_rate=first_rate, first_on_class_a=False,
        first_step="class_b_copay", first_parameter=COPAY, deductible=deductible, deductible_parameter=DEDUCTIBLE,
        deductible_detail=detail, bands=bands, bands_parameter=bands_parameter, caps=(cap,), first_missing=missing,
        detail={"disease": disease, "name": entry.name, **({"group": group} if group else {})},
    )


def compute_chronic(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    terms = chronic_terms(policy, level=req.level, category=req.category, certified_diseases=req.certified_diseases,
                          disease=req.disease, poverty_registered=req.poverty_registered, township=req.township)
    if req.flags:
        raise InvalidRequest("flags[0]", "out-of-area adjustments do not apply to the chronic-disease benefit")
    return certified.result(req, terms, certified.split(terms, req.bill.class_a, req.bill.class_b, req.year_to_date))
