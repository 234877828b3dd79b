"""The engine's fast path for the certified outpatient benefits, as visit ingestion calls it.

The engine (medins/benefits: `chronic`, `special_disease`, `special_drug`, `two_diseases`) reads
a benefit's parameters once into `Terms` (per service date, level, person category and disease
or drug) and computes each visit with `split(terms, class_a, class_b, ytd)` on plain values —
the same figures as its `compute`, without the explanation lines (as outpatient_pool's
pool_terms / pool_split serve pool visits). This module only maps a visit's facts onto those
calls; it holds no rule of its own.
"""

from __future__ import annotations

from decimal import Decimal

from medins.benefits.certified import split as engine_split
from medins.benefits.chronic import chronic_terms
from medins.benefits.special_disease import special_disease_terms
from medins.benefits.special_drug import special_drug_terms
from medins.benefits.two_diseases import two_diseases_terms

ZERO = Decimal("0.00")


class YearToDate:
    """The `year_to_date` figures the engine's split reads, reused (mutated) visit after visit."""

    __slots__ = ("fund_paid", "shared_fund_paid", "disease_fund_paid", "eligible_counted", "deductible_paid_amount",
                 "deductible_paid", "covered_personal", "catastrophic_paid", "fixed_copay_paid")

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, ZERO)
        self.deductible_paid = False


def terms(benefit: str, policy, *, level: str, category: str, item: str, certified_diseases: tuple[str, ...] = (),
          township: bool = False, insulin_user: bool = False, poverty_registered: bool = False):
    """The engine's Terms of one benefit for these facts (raises the engine's QuoteError)."""
    if benefit == "special_disease":
        return special_disease_terms(policy, level, category, item)
    if benefit == "special_drug":
        return special_drug_terms(policy, level, category, item)
    if benefit == "chronic":
        return chronic_terms(policy, level=level, category=category, certified_diseases=certified_diseases,
                             disease=item, township=township, poverty_registered=poverty_registered)
    if benefit == "two_diseases":
        return two_diseases_terms(policy, level=level, disease=item, insulin_user=insulin_user)
    raise ValueError(benefit)


def fund_scope(benefit: str, terms) -> str:
    """Which ledger figure the terms' `fund_paid` cap is measured against: "year" (the pool-fund
    cap shared with inpatient), "item" (the disease's own cap) or "benefit" (the benefit's own)."""
    if benefit in ("special_disease", "special_drug"):
        return "year"
    if benefit == "two_diseases":
        return "item"
    steps = {cap.step for cap in terms.caps if cap.ytd_field == "fund_paid"}
    if "disease_annual_cap" in steps:  # Jinan 门规: hypertension, diabetes
        return "item"
    if "fund_annual_cap" in steps:  # Jinan 门规: other diseases, toward the cap shared with inpatient
        return "year"
    return "benefit"  # Changchun: one pooled chronic cap


split = engine_split  # one visit's figures (.fund, .first_copay, .eligible, .deductible_paid)
