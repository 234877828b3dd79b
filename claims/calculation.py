"""From a case to a quote request (contracts/quote.md) and back: the case's stored breakdown.

Decisions:
- **Third-party compensation** (涉及第三方, Jinan case type 3) already received is deducted from
  the *compliant* cost before the quote: first from class A, then from class B; class C (never
  covered) is not reduced. The quote is computed on the remaining bill; the stored breakdown
  keeps the original bill and the deduction so a clerk can explain it.
- The service date is the first day of service (admission date); the policy in force on it
  and the person's category on it are used.
- The year-to-date figures come from the person's yearly ledger (claims.ledger), which every
  payer writes when it commits money; approval computes again on them under its lock.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext

from medins.benefits.request import IMPLEMENTED_BENEFITS
from medins.benefits.rounding import ZERO, money_str

from .errors import NotComputable
from .models import Benefit, Case


def bill_of(invoices) -> dict[str, Decimal]:
    a = b = c = ZERO
    for inv in invoices:
        a += inv.class_a
        b += inv.class_b
        c += inv.class_c
    return {"class_a": a, "class_b": b, "class_c": c}


def deduct_third_party(bill: dict[str, Decimal], paid: Decimal) -> tuple[dict[str, Decimal], list[dict]]:
    """The bill after third-party compensation: taken from class A first, then class B."""
    remaining = paid or ZERO
    out = dict(bill)
    lines = []
    for key in ("class_a", "class_b"):
        if remaining <= 0:
            break
        taken = out[key] if out[key] < remaining else remaining
        if taken:
            out[key] -= taken
            remaining -= taken
            lines.append({"class": key, "amount": money_str(taken)})
    return out, lines


def quote_request(case: Case, *, invoices, category: str, ytd: dict) -> tuple[dict, dict]:
    """(request, adjustments) for the case; raises NotComputable saying why it cannot be computed."""
    benefit = case.case_type.benefit
    if benefit == Benefit.EXTERNAL:
        raise NotComputable(gettext("This case type is paid by the contracted insurer; the agency does not calculate it."),
                            detail={"benefit": benefit})
    if benefit not in IMPLEMENTED_BENEFITS:
        raise NotComputable(gettext("The benefit “%(benefit)s” cannot be calculated yet.") % {"benefit": case.case_type.get_benefit_display()},
                            detail={"benefit": benefit})
    if not invoices:
        raise NotComputable(gettext("There is no invoice: the case cannot be calculated."))
    original = bill_of(invoices)
    bill, deducted = deduct_third_party(original, case.third_party_paid)
    request = {
        "region": case.person.region.code,
        "benefit": benefit,
        "service_date": case.service_from.isoformat(),
        "person": {"category": category},
        "institution": {"level": case.institution_level},
        "bill": {k: money_str(v) for k, v in bill.items()},
        "flags": list(case.case_type.flags or []),
    }
    if benefit == Benefit.MATERNITY:
        request["delivery"] = case.delivery or None
        if not case.delivery:
            raise NotComputable(gettext("A maternity claim needs the delivery type."))
    if ytd:
        request["year_to_date"] = {k: (v if isinstance(v, bool) else money_str(v)) for k, v in ytd.items()}
    adjustments = {
        "original_bill": {k: money_str(v) for k, v in original.items()},
        "third_party_paid": money_str(case.third_party_paid or ZERO),
        "third_party_deducted": deducted,
    }
    return request, adjustments
