"""Which ledger figures a benefit reads and advances — pure, no ORM (DOMAIN.md §3, §4).

Scopes of a person's year (see models.py): the *year* scope ("", "") holds what benefits share,
the *benefit* scope (benefit, "") what one benefit keeps for itself, the *item* scope
(benefit, code) what it keeps per disease, drug or programme.

Decisions (DOMAIN.md names the accumulators but not their sharing in every case):
- The yearly pool-fund cap (§3.5, 200 000) is shared by inpatient, day surgery (settled as an
  admission at inpatient ratios, §3.9), special diseases (§4.1) and special drugs (§4.4): their
  fund advances the year's `cap_fund`, which is what their quotes read as `fund_paid`.
- The catastrophic accumulator and payments (§3.6) are advanced by inpatient and day surgery
  (住院费 only: "no catastrophic supplement" for the outpatient benefits).
- The shared outpatient total (§4.2, Changchun 6 500) is read as the sum of the chronic and the
  outpatient-pool benefit accounts' fund (`shared_fund_paid`, `read_scopes`). Both benefits also
  advance one *shared* account (SHARED) by their fund: it is the row the ledger re-check sees
  move when the other benefit paid meanwhile (a pool visit batch and a chronic batch for the same
  person each read the other's account without locking it; without a row both advance, both
  would pass their re-check and together exceed the 6 500). It costs a pool visit one more
  account row; the year account stays for the cap and catastrophic benefits only.
- Accident and outpatient pool keep their own figures in the benefit scope (own caps,
  once-a-year deductibles, the accident window counted on compliant cost).
- Fixed-copay programmes (§3.8) paid per year keep what the person paid in the programme's item
  scope.
- The certified outpatient benefits (§4.1–4.4, contracts/quote.md) post with the disease or drug
  as item: special disease and special drug advance the year's `cap_fund` (200 000 with
  inpatient) and keep their cumulative eligible amount and once-a-year deductible in the benefit
  scope (one deductible across all special diseases, one for special drugs); a special disease's
  own cap reads the item's fund (`disease_fund_paid`). 两病 caps are per disease: the item's fund.
  Changchun chronic pools its cap over the certified diseases: the benefit's fund (no item needed).
  Jinan 门规: a disease with its own cap (hypertension, diabetes) reads the item's fund; the other
  diseases share 250 000 with inpatient, so their entries are made with `inpatient_cap=True`,
  advance the year's `cap_fund` and read it (the region's rule decides, so the caller says which).
- `read_scopes` is what a quote reads (adds the other benefits of the shared outpatient total to
  `scopes`, which stays what an entry advances), so `shared_fund_paid` sees chronic + pool.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal("0.00")

CAP_BENEFITS = frozenset({"inpatient", "day_surgery", "special_disease", "special_drug"})
CATASTROPHIC_BENEFITS = frozenset({"inpatient", "day_surgery"})
SHARED_OUTPATIENT_BENEFITS = frozenset({"chronic", "outpatient_pool"})

YEAR = ("", "")
# Advanced by every benefit of the shared outpatient total (see the decisions above).
SHARED = ("outpatient_shared", "")


class Figures(NamedTuple):
    """The figures of an account, or an entry's effect on every account it advances.

    A named tuple (immutable, built at C speed: ledger_post builds two or three per posting,
    thousands a visit batch); `+` adds figure by figure, it never concatenates."""

    fund: Decimal = ZERO
    cap_fund: Decimal = ZERO
    covered_personal: Decimal = ZERO
    catastrophic: Decimal = ZERO
    deductible: Decimal = ZERO
    eligible: Decimal = ZERO
    fixed_copay: Decimal = ZERO

    def __add__(self, other: Figures) -> Figures:
        a, b = self, other
        return Figures(a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5], a[6] + b[6])

    def __neg__(self) -> Figures:
        return Figures(*(-v for v in self))

    def as_tuple(self) -> tuple[Decimal, ...]:
        return tuple(self)

    def __bool__(self) -> bool:
        return any(self)


FIGURE_NAMES = Figures._fields


def _figures(values: tuple) -> Figures:
    """Figures from the seven values in field order, without the keyword machinery (hot path)."""
    return tuple.__new__(Figures, values)


EMPTY = Figures()


def _shares_year(benefit: str) -> bool:
    return benefit in CAP_BENEFITS or benefit in CATASTROPHIC_BENEFITS


def scopes(benefit: str, item: str = "", *, inpatient_cap: bool = False) -> tuple[tuple[str, str], ...]:
    """The (benefit, item) scopes an entry of this benefit advances and its quote reads, in key order."""
    out = [YEAR] if _shares_year(benefit) or inpatient_cap else []
    out.append((benefit, ""))
    if item:
        out.append((benefit, item))
    if benefit in SHARED_OUTPATIENT_BENEFITS:
        out.append(SHARED)
    return tuple(sorted(out))


def read_scopes(benefit: str, item: str = "", *, inpatient_cap: bool = False) -> tuple[tuple[str, str], ...]:
    """`scopes` and, for a benefit of the shared outpatient total, the other sharing benefits'
    accounts (what `year_to_date` needs for `shared_fund_paid`), in key order."""
    out = set(scopes(benefit, item, inpatient_cap=inpatient_cap))
    if benefit in SHARED_OUTPATIENT_BENEFITS:
        out.update((b, "") for b in SHARED_OUTPATIENT_BENEFITS)
    return tuple(sorted(out))


def entry_figures(benefit: str, *, fund: Decimal = ZERO, deductible: Decimal = ZERO, eligible: Decimal = ZERO,
                  covered_personal: Decimal = ZERO, catastrophic: Decimal = ZERO, fixed_copay: Decimal = ZERO,
                  inpatient_cap: bool = False) -> Figures:
    """An entry's figures for one settlement of this benefit: its own figures, and the shared ones
    it advances by the sharing rules above (`inpatient_cap`: this settlement's fund counts toward
    the yearly cap shared with inpatient although its benefit does not always, Jinan 门规)."""
    catastrophic_scope = benefit in CATASTROPHIC_BENEFITS
    return _figures((  # in FIGURE_NAMES order, positionally (a visit batch builds 5 000)
        fund,
        fund if benefit in CAP_BENEFITS or inpatient_cap else ZERO,  # cap_fund
        covered_personal if catastrophic_scope else ZERO,
        catastrophic if catastrophic_scope else ZERO,
        deductible,
        eligible,
        fixed_copay,
    ))


def effect(benefit: str, quote: dict, *, inpatient_cap: bool = False) -> Figures:
    """What one settlement (the quote body the engine answered, contracts/quote.md) adds to the ledger."""
    settlement = quote.get("settlement") or {}
    fund = Decimal(quote.get("fund", "0"))
    total = Decimal(quote.get("total", "0"))
    class_c = Decimal(settlement.get("fulamt_ownpay_amt", "0"))
    return entry_figures(
        benefit, fund=fund, deductible=Decimal(settlement.get("act_pay_dedc", "0")),
        eligible=Decimal(settlement.get("inscp_scp_amt", "0")), covered_personal=total - class_c - fund,
        catastrophic=Decimal(quote.get("catastrophic", "0")),
        fixed_copay=sum((Decimal(line["amount"]) for line in quote.get("lines", ()) if line.get("step") == "fixed_copay"),
                        ZERO), inpatient_cap=inpatient_cap)


def split(benefit: str, item: str, figures: Figures, *, year_account: bool = False) -> dict[tuple[str, str], Figures]:
    """How an entry's figures land on its accounts: shared figures on the year, the rest on the
    benefit (and the item, which keeps its own copy of them). `year_account`: land on the year
    account even when cap_fund is zero (a sum of entries that each advanced it)."""
    fund, cap_fund, covered_personal, catastrophic, deductible, eligible, fixed_copay = figures
    own = _figures((fund, ZERO, ZERO, ZERO, deductible, eligible, fixed_copay))
    out = {(benefit, ""): own}
    if benefit in CAP_BENEFITS or benefit in CATASTROPHIC_BENEFITS or cap_fund or year_account:
        out[YEAR] = _figures((ZERO, cap_fund, covered_personal, catastrophic, ZERO, ZERO, ZERO))
    if item:
        out[(benefit, item)] = own
    if benefit in SHARED_OUTPATIENT_BENEFITS:
        out[SHARED] = _figures((fund, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO))
    return out


def shared_outpatient_fund(accounts: dict[tuple[str, str], Figures]) -> Decimal:
    """Fund paid this year by every benefit of the shared outpatient total (§4.2), from their accounts."""
    return sum((accounts.get((b, ""), EMPTY).fund for b in sorted(SHARED_OUTPATIENT_BENEFITS)), ZERO)


def year_to_date(benefit: str, accounts: dict[tuple[str, str], Figures], item: str = "", *,
                 inpatient_cap: bool = False) -> dict:
    """The `year_to_date` object of a quote request for this benefit, from the person's accounts of
    the year (missing accounts count as zero; read them with `read_scopes`). `item` is the disease
    or drug of a certified benefit's settlement."""
    year = accounts.get(YEAR, EMPTY)
    own = accounts.get((benefit, ""), EMPTY)
    item_figures = accounts.get((benefit, item), EMPTY) if item else EMPTY
    if benefit in CATASTROPHIC_BENEFITS:
        out = {"fund_paid": year.cap_fund, "covered_personal": year.covered_personal,
               "catastrophic_paid": year.catastrophic}
        if item:
            out["fixed_copay_paid"] = item_figures.fixed_copay
        return out
    if benefit == "accident":
        return {"fund_paid": own.fund, "eligible_counted": own.eligible, "deductible_paid": own.deductible > 0}
    if benefit == "outpatient_pool":
        return {"fund_paid": own.fund, "deductible_paid_amount": own.deductible,
                "shared_fund_paid": shared_outpatient_fund(accounts)}
    if benefit == "maternity":
        return {}
    if benefit == "two_diseases":
        return {"fund_paid": item_figures.fund}
    if benefit == "chronic":
        if inpatient_cap:
            fund_paid = year.cap_fund
        else:
            fund_paid = item_figures.fund if item else own.fund
        return {"fund_paid": fund_paid, "shared_fund_paid": shared_outpatient_fund(accounts),
                "eligible_counted": own.eligible, "deductible_paid_amount": own.deductible}
    # Special disease and special drug: the cumulative figures of the benefit, the fund toward the
    # cap shared with inpatient, and (special disease) the disease's own fund.
    out = {"fund_paid": year.cap_fund if benefit in CAP_BENEFITS else own.fund, "eligible_counted": own.eligible,
           "deductible_paid_amount": own.deductible}
    if benefit == "special_disease":
        out["disease_fund_paid"] = item_figures.fund
    return out
