"""Inpatient (住院) and day-surgery (日间手术) quotes, per admission (DOMAIN.md §3, Changchun).

Order of the computation (every number comes from the policy snapshot):

1. class C is personal;
2. class B: the co-pay share is personal, the rest is eligible;
3. eligible = A + B - co-pay; the per-admission deductible (by level and rate group) is
   personal, at most the eligible amount;
4. the eligible amount above the deductible is paid by the pool fund in bands of the
   admission's eligible amount (limits counted on the eligible amount, the first band starting
   at the deductible), at the ratio of the level and rate group, adjusted by the flags;
5. the pool fund is capped by what is left of its yearly cap; the excess is personal;
6. the catastrophic supplement pays bands of the year's covered personal accumulator above its
   threshold (this admission's slice of it), capped by what is left of its yearly cap;
7. flags adjust the ratios of step 4 (out of area, referral, direct settlement skipped);
8. a fixed-copay programme replaces 2-6: the person pays the programme's fixed amount;
9. day surgery is 3-6 with the day-surgery deductible (none) and the inpatient ratios.

Decisions (DOMAIN.md leaves these open):
- Rounding: each line is rounded half-up to the cent once; fund and catastrophic are sums of
  their (rounded) lines, personal = total - fund - catastrophic, so the totals reconcile with
  the lines and with each other to the cent.
- The class-B co-pay is rounded to the cent first and eligible = A + B - co-pay, so class C,
  the co-pay and the eligible amount partition the bill exactly.
- The inpatient deductible is per admission: `year_to_date.deductible_paid` (a once-a-year
  benefit's flag) does not waive it.
- Out-of-area non-emergency: the fund pays the flat ratio (no +10 for children, no bands) of the
  eligible amount above the deductible; the deductible still applies.
- Direct settlement skipped: its points apply on top of whatever ratios apply, including the
  long-term out-of-area cut and the non-emergency flat ratio. Adjusted ratios stay within 0..1.
- The flags saying where/why the person was treated (long_term_out_of_area,
  out_of_area_emergency, out_of_area_non_emergency, referral) exclude each other; emergency
  meeting the list and approved referral keep the local ratios.
- Fixed-copay programmes: the person pays min(fixed amount, A + B) — for per-year programmes
  less what was already paid on it this year — which absorbs the class-B co-pay; no deductible,
  no bands, no fund cap, no catastrophic supplement; class C stays personal. Palliative care
  (舒缓疗护, 700 for residents) is charged per admission. Programmes apply to `inpatient` only
  and without out-of-area flags.
"""

from __future__ import annotations

from decimal import Decimal

from . import params
from .errors import InvalidParameter, InvalidRequest
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import CATASTROPHIC, FUND, PERSONAL, Line, QuoteResult
from .rounding import ONE, ZERO, clamp_rate, money_str, round_money

CATEGORY_GROUP = "inpatient.category_group"
CLASS_B_COPAY_RATE = "inpatient.class_b_copay_rate"
DEDUCTIBLE = "inpatient.deductible"
BANDS = "inpatient.bands"
FUND_ANNUAL_CAP = "inpatient.fund_annual_cap"
CATASTROPHIC_THRESHOLD = "catastrophic.threshold"
CATASTROPHIC_BANDS = "catastrophic.bands"
CATASTROPHIC_ANNUAL_CAP = "catastrophic.annual_cap"
LONG_TERM_POINTS = "adjustment.long_term_out_of_area_points"
NON_EMERGENCY_FLAT_RATE = "adjustment.non_emergency_flat_rate"
SKIPPED_POINTS = "adjustment.direct_settlement_skipped_points"
PROGRAMMES = "fixed_copay.programmes"
DAY_SURGERY_DEDUCTIBLE = "day_surgery.deductible"

_PER_VALUES = ("admission", "year")

# A band row ready for use: (upper limit or None, ratio applied, ratio before flag adjustments).
BandRow = tuple[Decimal | None, Decimal, Decimal]


def compute_inpatient(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    if req.programme is not None:
        return _fixed_copay(req, policy)
    # Read first: a region without this benefit (Jinan) is refused naming the deductible.
    policy.get(DEDUCTIBLE)
    group = _rate_group(req, policy)
    level = req.level

    def build():
        policy.lookup(DEDUCTIBLE, level)  # a level without a row (village) is named without the group
        value = policy.lookup(DEDUCTIBLE, level, group)
        return params.to_cents(params.check_amount(policy, f"{DEDUCTIBLE}.{level}.{group}", value))

    deductible = policy.memo((DEDUCTIBLE, level, group), build)
    return _banded(req, policy, group, deductible, DEDUCTIBLE)


def compute_day_surgery(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    deductible = params.amount(policy, DAY_SURGERY_DEDUCTIBLE)
    group = _rate_group(req, policy)
    return _banded(req, policy, group, deductible, DAY_SURGERY_DEDUCTIBLE)


def _rate_group(req: QuoteRequest, policy: PolicySnapshot) -> str:
    group = policy.lookup(CATEGORY_GROUP, req.category)
    if type(group) is not str:
        raise InvalidParameter(f"{CATEGORY_GROUP}.{req.category}", policy.region, policy.date, "expected a group name")
    return group


def _band_rows(req: QuoteRequest, policy: PolicySnapshot, group: str) -> tuple[tuple[BandRow, ...], str, list[str]]:
    """The ratio table for this admission: (rows, parameter key, adjustment keys applied)."""
    level = req.level

    def build():
        table = params.bands(policy, f"{BANDS}.{level}", policy.lookup(BANDS, level), group)
        return tuple((upto, ratio, ratio) for upto, ratio in table)

    rows = policy.memo((BANDS, level, group), build)
    flags = req.flags
    if not flags:
        return rows, BANDS, []
    key = BANDS
    table = [(upto, ratio) for upto, ratio, _ in rows]
    if "out_of_area_non_emergency" in flags:
        table = ((None, params.rate(policy, NON_EMERGENCY_FLAT_RATE)),)
        key = NON_EMERGENCY_FLAT_RATE
    shift = ZERO
    adjustments = []
    if "long_term_out_of_area" in flags:
        shift += params.points(policy, LONG_TERM_POINTS)
        adjustments.append(LONG_TERM_POINTS)
    if "direct_settlement_skipped" in flags:
        shift += params.points(policy, SKIPPED_POINTS)
        adjustments.append(SKIPPED_POINTS)
    if not adjustments:
        return tuple((upto, ratio, ratio) for upto, ratio in table), key, adjustments
    # Child groups keep their +10 points: the cut applies to the group's own ratio.
    return tuple((upto, clamp_rate(ratio + shift), ratio) for upto, ratio in table), key, adjustments


def _banded(
    req: QuoteRequest, policy: PolicySnapshot, group: str, deductible: Decimal, deductible_key: str
) -> QuoteResult:
    """Steps 1-6: co-pay, deductible, banded fund share, fund cap, catastrophic supplement."""
    bill = req.bill
    ytd = req.year_to_date
    # Read every parameter the rule needs up front, so a missing one is reported whatever the amounts.
    copay_rate = params.rate(policy, CLASS_B_COPAY_RATE)
    rows, bands_key, adjustments = _band_rows(req, policy, group)
    fund_cap = params.amount(policy, FUND_ANNUAL_CAP)

    copay = round_money(bill.class_b * copay_rate)
    eligible = bill.class_a + bill.class_b - copay
    deductible_paid = eligible if eligible < deductible else deductible
    deductible_detail = {"deductible": money_str(deductible)}
    if deductible_key == DEDUCTIBLE:
        deductible_detail["level"] = req.level
        deductible_detail["group"] = group
    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line("class_b_copay", copay, PERSONAL, CLASS_B_COPAY_RATE, copay_rate, {"base": money_str(bill.class_b)}),
        Line("deductible", deductible_paid, PERSONAL, deductible_key, None, deductible_detail),
    ]

    fund = ZERO
    lower = ZERO
    for number, (upto, ratio, base_ratio) in enumerate(rows, 1):
        start = lower if lower > deductible else deductible
        end = eligible if upto is None or upto > eligible else upto
        if end > start:
            base = end - start
            paid = round_money(base * ratio)
            fund += paid
            detail = {"band": number, "from": money_str(start), "to": money_str(end), "base": money_str(base)}
            if adjustments:
                detail["base_rate"] = str(base_ratio)
                detail["adjustments"] = adjustments
            if req.flags:
                detail["flags"] = list(req.flags)
            lines.append(Line("band_fund", paid, FUND, bands_key, ratio, detail))
            lines.append(Line("band_personal", base - paid, PERSONAL, bands_key, ONE - ratio, {"band": number}))
        if upto is None or upto >= eligible:
            break
        lower = upto

    remaining = fund_cap - ytd.fund_paid
    if remaining < 0:
        remaining = ZERO
    if fund > remaining:
        lines.append(
            Line(
                "fund_annual_cap",
                fund - remaining,
                PERSONAL,
                FUND_ANNUAL_CAP,
                None,
                {
                    "cap": money_str(fund_cap),
                    "paid_before": money_str(ytd.fund_paid),
                    "remaining": money_str(remaining),
                },
            )
        )
        fund = remaining

    covered_personal = bill.class_a + bill.class_b - fund
    catastrophic = _catastrophic(policy, ytd.covered_personal, ytd.catastrophic_paid, covered_personal, lines)
    total = bill.class_a + bill.class_b + bill.class_c
    return QuoteResult(
        region=req.region,
        benefit=req.benefit,
        policy_version=policy.version,
        total=total,
        fund=fund,
        catastrophic=catastrophic,
        personal=total - fund - catastrophic,
        lines=lines,
        class_c=bill.class_c,
        class_b_copay=copay,
        eligible=eligible,
        deductible_paid=deductible_paid,
    )


def _catastrophic_bands(policy: PolicySnapshot):
    return policy.memo(
        (CATASTROPHIC_BANDS,), lambda: params.bands(policy, CATASTROPHIC_BANDS, policy.get(CATASTROPHIC_BANDS), "rate")
    )


def _catastrophic(
    policy: PolicySnapshot, accumulated: Decimal, paid_before: Decimal, covered_personal: Decimal, lines: list[Line]
) -> Decimal:
    """This admission's slice of the banded supplement on the yearly covered-personal accumulator.

    Band limits count on the excess over the threshold; line `from`/`to` show the accumulator.
    """
    threshold = params.amount(policy, CATASTROPHIC_THRESHOLD)
    table = _catastrophic_bands(policy)
    cap = params.amount(policy, CATASTROPHIC_ANNUAL_CAP)

    before = accumulated - threshold
    after = before + covered_personal
    computed = ZERO
    if after > 0:
        lower = ZERO
        for number, (upto, ratio) in enumerate(table, 1):
            start = lower if lower > before else before
            end = after if upto is None or upto > after else upto
            if end > start:
                base = end - start
                paid = round_money(base * ratio)
                computed += paid
                detail = {
                    "band": number,
                    "threshold": money_str(threshold),
                    "from": money_str(start + threshold),
                    "to": money_str(end + threshold),
                    "base": money_str(base),
                }
                lines.append(Line("catastrophic_band", paid, CATASTROPHIC, CATASTROPHIC_BANDS, ratio, detail))
            if upto is None or upto >= after:
                break
            lower = upto

    remaining = cap - paid_before
    if remaining < 0:
        remaining = ZERO
    if computed > remaining:
        detail = {"cap": money_str(cap), "paid_before": money_str(paid_before), "remaining": money_str(remaining)}
        lines.append(
            Line("catastrophic_annual_cap", computed - remaining, PERSONAL, CATASTROPHIC_ANNUAL_CAP, None, detail)
        )
        computed = remaining
    return computed


def _programme(policy: PolicySnapshot, code: str) -> tuple[str, Decimal, str]:
    """(name, fixed amount, per) of a fixed-copay programme, validated once per policy version."""
    programmes = policy.get(PROGRAMMES)
    if type(programmes) is not dict:
        raise InvalidParameter(
            PROGRAMMES, policy.region, policy.date, "expected a mapping of programme code to programme"
        )
    if code not in programmes:
        known = ", ".join(sorted(programmes))
        raise InvalidRequest(
            "programme", f"'{code}' is not a fixed-copay programme of policy {policy.version} (known: {known})"
        )

    def build():
        key = f"{PROGRAMMES}.{code}"
        entry = programmes[code]
        if type(entry) is not dict:
            raise InvalidParameter(key, policy.region, policy.date, "expected {name, amount, per}")
        per = entry.get("per")
        if per not in _PER_VALUES:
            raise InvalidParameter(f"{key}.per", policy.region, policy.date, "expected 'admission' or 'year'")
        amount = params.check_amount(policy, f"{key}.amount", entry.get("amount"))
        return str(entry.get("name", code)), amount, per

    return policy.memo((PROGRAMMES, code), build)


def _fixed_copay(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    """Step 8: a fixed personal amount replaces the co-pay, deductible, bands, caps and supplement."""
    name, fixed, per = _programme(policy, req.programme)
    bill = req.bill
    covered = bill.class_a + bill.class_b
    already = ZERO
    due = fixed
    if per == "year":
        already = req.year_to_date.fixed_copay_paid
        due = fixed - already if fixed > already else ZERO
    personal_fixed = due if due < covered else covered
    fund = covered - personal_fixed
    detail = {"programme": req.programme, "name": name, "fixed_amount": money_str(fixed), "per": per}
    if per == "year":
        detail["paid_before"] = money_str(already)
    lines = [
        Line("class_c_excluded", bill.class_c, PERSONAL),
        Line("fixed_copay", personal_fixed, PERSONAL, PROGRAMMES, None, detail),
        Line(
            "fixed_copay_fund", fund, FUND, PROGRAMMES, None, {"programme": req.programme, "base": money_str(covered)}
        ),
    ]
    total = covered + bill.class_c
    return QuoteResult(
        region=req.region,
        benefit=req.benefit,
        policy_version=policy.version,
        total=total,
        fund=fund,
        catastrophic=ZERO,
        personal=total - fund,
        lines=lines,
        class_c=bill.class_c,
        class_b_copay=ZERO,
        eligible=covered,
        deductible_paid=ZERO,
        fixed_copay_paid=personal_fixed,
    )
