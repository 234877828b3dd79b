"""The settlement as it should have been, per rule (DOMAIN.md §9 "Recovery", issue 15 item 4) — pure.

One small function per rule: the facts of the settlement(s) a confirmed finding names go in,
the corrected facts come out; recovery.py re-quotes them with the engine (never a typed sum).
No ORM, no I/O; the notes and refusals are worded with gettext in the active language.

Facts are plain :class:`Stay` values: the stay's dates, its bill (class A/B/C as the quote
contract has it) and its itemised lines (claims.supervision.SettlementLine as dicts).

Decisions (DOMAIN.md is silent):
- Lines carry no A/B/C class, so an amount removed from the bill comes off class A first, then
  class B, then class C (the order the third-party deduction uses, claims/calculation.py): bed,
  nursing and the usual inpatient items are class A.
- Bed-holding removes every line of the idle days (runs of `idle_days` or more consecutive stay
  days holding only idle kinds) — the days the person was not really treated.
- Duplicate bed charge removes, per date, the bed quantity above 1 and then, if the stay is
  still billed more bed days than it has stay days, the excess from the latest dates; a line's
  amount is removed pro rata of its quantity.
- Excess prescription (a) removes the supply above the maximum pro rata of the line's days of
  supply. (b) The window: one drug's dispensings are taken in date order (then settlement
  reference); each keeps only the supply that leaves every window starting at an earlier kept
  dispensing (d to d + window − 1) within tolerance × window days; the rest of its supply is the
  excess, removed pro rata of the line's amount. The earliest dispensings are the ones the
  rule lets through; the later ones made the window exceed. (a) is applied before (b).
- Not covered drops the lines dated on uncovered days (or after the date of death); a
  settlement without lines whose service date is uncovered is dropped entirely.
- Third party not deducted: the bill re-quoted with the third-party amount deducted (the case's
  bill already is, claims.calculation.deduct_third_party): nothing else changes.
- Overlapping care: the care days dated on a stay day are dropped; an outpatient settlement on
  a stay day is dropped entirely. Two overlapping stays are not corrected (which hospital's days
  were not real is a judgement): recovery.py refuses them.
- Certification mismatch and grey list: the settlement should not have been paid by the fund
  (the grey list suspends direct settlement: the person may still claim manually); a care line
  drops only its days inside the grey-list periods.
- A split admission is merged into one stay: admitted at the first, discharged at the second,
  bills and lines added (one deductible).
- Duplicate invoice and benefit twice: the second settlement (later service date, then the
  higher reference) should not have been paid at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext, pgettext

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BILL_ORDER = ("class_a", "class_b", "class_c")


@dataclass(frozen=True)
class Stay:
    """One settlement's facts: ``admitted``/``discharged`` (a non-stay has both = service date),
    ``bill`` {class_a, class_b, class_c}, ``lines`` [{date, kind, quantity, amount, days_supply}]."""

    ref: str
    admitted: dt.date
    discharged: dt.date
    bill: dict = field(default_factory=dict)
    lines: tuple = ()

    @property
    def total(self) -> Decimal:
        return sum((Decimal(v) for v in self.bill.values()), ZERO)

    def stay_days(self) -> list[dt.date]:
        n = max((self.discharged - self.admitted).days, 1)
        return [self.admitted + dt.timedelta(days=i) for i in range(n)]


@dataclass(frozen=True)
class Corrected:
    """What the settlement should have been: ``stay`` (None: it should not have been paid),
    ``removed`` the amount taken off the bill, ``note`` what was changed (for the order, in the language
    active when it is made: the note is stored as written)."""

    stay: Stay | None
    removed: Decimal
    note: str


class NotCorrectable(Exception):
    """The rule's correction needs facts the system does not hold (message in the active language)."""


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def remove_from_bill(bill: dict, amount: Decimal) -> dict:
    """The bill less `amount`: class A first, then class B, then class C (never below zero)."""
    out = {k: Decimal(bill.get(k, ZERO)) for k in BILL_ORDER}
    left = _money(amount)
    for key in BILL_ORDER:
        taken = min(out[key], left)
        out[key] -= taken
        left -= taken
    if left > 0:
        raise NotCorrectable(gettext("The itemised amount to remove, %(amount)s, exceeds the settlement's total "
                                      "charges; it cannot be re-quoted.") % {"amount": amount})
    return out


def _without(stay: Stay, removed_lines: list[tuple[dict, Decimal]], note: str) -> Corrected:
    """The stay with parts of its lines removed: [(line, amount removed from it)]."""
    removed = sum((a for _line, a in removed_lines), ZERO)
    cut = {id(line): a for line, a in removed_lines}
    lines = []
    for line in stay.lines:
        a = cut.get(id(line))
        if a is None:
            lines.append(line)
        elif a < Decimal(line["amount"]):
            lines.append({**line, "amount": Decimal(line["amount"]) - a})
    return Corrected(replace(stay, bill=remove_from_bill(stay.bill, removed), lines=tuple(lines)), removed, note)


def idle_days(stay: Stay, *, idle_kinds, min_days: int) -> list[dt.date]:
    """The stay days in runs of `min_days` or more consecutive days whose lines are all idle."""
    by_day: dict[dt.date, list[dict]] = {}
    for line in stay.lines:
        by_day.setdefault(line["date"], []).append(line)
    out, run = [], []
    for day in stay.stay_days() + [None]:
        if day is not None and all(line["kind"] in idle_kinds for line in by_day.get(day, ())):
            run.append(day)
            continue
        if len(run) >= min_days:
            out.extend(run)
        run = []
    return out


def correct_bed_holding(stay: Stay, *, idle_kinds, min_days: int) -> Corrected:
    """bed_holding: the idle days' lines removed."""
    days = set(idle_days(stay, idle_kinds=idle_kinds, min_days=min_days))
    removed = [(line, Decimal(line["amount"])) for line in stay.lines if line["date"] in days]
    return _without(stay, removed, gettext("Removed the itemised charges of %(days)s bed-holding days")
                    % {"days": len(days)})


def correct_duplicate_charge(stay: Stay) -> Corrected:
    """duplicate_charge: the bed quantity above 1 a date, then above the number of stay days."""
    beds = [line for line in stay.lines if line["kind"] == "bed"]
    remaining = {id(line): Decimal(line["quantity"]) for line in beds}
    cut: dict[int, Decimal] = {}  # quantity removed per line

    def take(line, qty):
        cut[id(line)] = cut.get(id(line), ZERO) + qty
        remaining[id(line)] -= qty

    by_date: dict[dt.date, list[dict]] = {}
    for line in beds:
        by_date.setdefault(line["date"], []).append(line)
    for day_lines in by_date.values():
        excess = sum((remaining[id(line)] for line in day_lines), ZERO) - 1
        for line in reversed(day_lines):
            if excess <= 0:
                break
            qty = min(excess, remaining[id(line)])
            take(line, qty)
            excess -= qty
    excess = sum(remaining.values(), ZERO) - (stay.discharged - stay.admitted).days
    for line in sorted(beds, key=lambda x: x["date"], reverse=True):
        if excess <= 0:
            break
        qty = min(excess, remaining[id(line)])
        if qty > 0:
            take(line, qty)
            excess -= qty
    removed = [(line, _money(Decimal(line["amount"]) * cut[id(line)] / Decimal(line["quantity"])))
               for line in beds if cut.get(id(line))]
    return _without(stay, removed, gettext("Removed %(beds)s duplicate bed days")
                    % {"beds": f"{sum(cut.values(), ZERO):g}"})


def correct_excess_prescription(stay: Stay, *, max_days: int) -> Corrected:
    """excess_prescription (a): each drug line's supply above `max_days` removed pro rata."""
    removed = []
    for line in stay.lines:
        supply = line.get("days_supply")
        if line["kind"] == "drug" and supply and supply > max_days:
            removed.append((line, _money(Decimal(line["amount"]) * (supply - max_days) / supply)))
    if not removed:
        raise NotCorrectable(gettext(
            "The settlement has no drug line above the maximum days of supply per prescription (an excess judged "
            "by the 30-day cumulative supply does not say which dispensing to cut); it cannot be re-quoted."))
    return _without(stay, removed, gettext("Removed the drug charges above the maximum days of supply (%(days)s days)")
                    % {"days": max_days})


def correct_not_covered(stay: Stay, *, covered, died: dt.date | None = None) -> Corrected:
    """not_covered: the lines of uncovered days (or after the date of death) dropped (no lines:
    the whole settlement)."""

    def is_covered(day):
        if died is not None and day > died:
            return False
        return any(start <= day and (end is None or day <= end) for start, end in covered)

    if not stay.lines:
        if is_covered(stay.admitted):
            raise NotCorrectable(gettext("The settlement's service date is within the cover and it has no itemised "
                                          "lines, so the uncovered days cannot be determined."))
        return Corrected(None, stay.total, gettext(
            "The service date is outside the cover: none of the settlement should have been paid"))
    removed = [(line, Decimal(line["amount"])) for line in stay.lines if not is_covered(line["date"])]
    if len(removed) == len(stay.lines):
        return Corrected(None, stay.total, gettext(
            "All charges are dated outside the cover: none of the settlement should have been paid"))
    return _without(stay, removed, gettext("Removed the itemised charges of the uncovered dates"))


def merge_split(first: Stay, second: Stay) -> Corrected:
    """split_admission: the two stays as one admission (one deductible)."""
    a, b = sorted((first, second), key=lambda s: (s.admitted, s.ref))
    bill = {k: Decimal(a.bill.get(k, ZERO)) + Decimal(b.bill.get(k, ZERO)) for k in BILL_ORDER}
    merged = Stay(ref=a.ref, admitted=a.admitted, discharged=max(a.discharged, b.discharged), bill=bill,
                  lines=tuple(a.lines) + tuple(b.lines))
    return Corrected(merged, ZERO, gettext(
        "Split admission merged into one stay (%(admitted)s to %(discharged)s), one deductible only")
        % {"admitted": a.admitted, "discharged": merged.discharged})


def drop_second(stays: list[Stay]) -> tuple[Stay, Corrected]:
    """duplicate_invoice / benefit_twice: the second settlement (later date, then reference) is dropped."""
    second = max(stays, key=lambda s: (s.admitted, s.ref))
    return second, Corrected(None, second.total, gettext(
        "Duplicate settlement (%(ref)s): none of it should have been paid") % {"ref": second.ref})


def _cut_supply(stay: Stay, cut: dict[int, Decimal], note: str) -> Corrected:
    """The stay with `cut[id(line)]` days of supply removed from drug lines, the amount pro rata."""
    removed, lines = ZERO, []
    for line in stay.lines:
        days = cut.get(id(line))
        if not days:
            lines.append(line)
            continue
        supply = Decimal(line["days_supply"])
        amount = _money(Decimal(line["amount"]) * days / supply)
        removed += amount
        if days < supply:
            lines.append({**line, "amount": Decimal(line["amount"]) - amount, "days_supply": supply - days})
    return Corrected(replace(stay, bill=remove_from_bill(stay.bill, removed), lines=tuple(lines)), removed, note)


def excess_window_cuts(stays: list[Stay], *, window_days: int, tolerance: Decimal) -> dict[tuple[str, int], Decimal]:
    """excess_prescription (b): {(stay ref, line index): days of supply above the window's tolerance}.

    Per drug, dispensings in date order (then reference, then line order); each keeps at most what
    leaves every window opened by an earlier dispensing (within `window_days − 1` days before it)
    at `tolerance × window_days` days; the rest is excess."""
    ceiling = Decimal(tolerance) * window_days
    span = dt.timedelta(days=window_days - 1)
    by_drug: dict[str, list] = {}
    for s in stays:
        for i, line in enumerate(s.lines):
            if line["kind"] == "drug" and line.get("drug") and line.get("days_supply"):
                by_drug.setdefault(line["drug"], []).append((line["date"], s.ref, i, Decimal(line["days_supply"])))
    cuts: dict[tuple[str, int], Decimal] = {}
    for rows in by_drug.values():
        rows.sort(key=lambda r: r[:3])
        kept: list[tuple[dt.date, Decimal]] = []
        for day, ref, i, supply in rows:
            room = ceiling
            for start, _k in kept:
                if start + span >= day:  # the window opened at `start` holds this dispensing
                    room = min(room, ceiling - sum((k for d, k in kept if start <= d), ZERO))
            keep = max(ZERO, min(supply, room))
            kept.append((day, keep))
            if keep < supply:
                cuts[(ref, i)] = supply - keep
    return cuts


def correct_excess_prescriptions(stays: list[Stay], *, max_days: dict[str, int], window_days: int,
                                 tolerance: Decimal) -> dict[str, Corrected]:
    """excess_prescription, both branches over the finding's settlements: (a) each drug line's
    supply above its settlement's maximum (`max_days` by ref), then (b) the window's excess.
    Returns the corrected settlements only (those with something removed)."""
    out: dict[str, Corrected] = {}
    after_a = []
    for s in stays:
        cut = {id(line): Decimal(line["days_supply"]) - max_days[s.ref] for line in s.lines
               if line["kind"] == "drug" and line.get("days_supply") and line["days_supply"] > max_days[s.ref]}
        fixed = _cut_supply(s, cut, "") if cut else Corrected(s, ZERO, "")
        after_a.append(fixed)
    cuts = excess_window_cuts([c.stay for c in after_a], window_days=window_days, tolerance=tolerance)
    for s, a in zip(stays, after_a, strict=True):
        window = {id(line): cuts[(s.ref, i)] for i, line in enumerate(a.stay.lines) if (s.ref, i) in cuts}
        b = _cut_supply(a.stay, window, "") if window else Corrected(a.stay, ZERO, "")
        removed = a.removed + b.removed
        if removed:
            parts = []
            if a.removed:
                parts.append(gettext("above the maximum days of supply per prescription (%(days)s days): %(amount)s")
                             % {"days": max_days[s.ref], "amount": a.removed})
            if b.removed:
                parts.append(gettext("above %(limit)s days' supply within %(window)s days: %(amount)s")
                             % {"window": window_days, "limit": f"{Decimal(tolerance) * window_days:g}",
                                "amount": b.removed})
            out[s.ref] = Corrected(b.stay, removed, gettext("Removed drug charges: %(parts)s")
                                   % {"parts": pgettext("list separator", "; ").join(parts)})
    return out


def correct_days(stay: Stay, days, note: str) -> Corrected:
    """The lines dated on `days` removed (overlapping care: the care days on a stay day; a care
    line on the grey list: the days in the periods)."""
    days = set(days)
    removed = [(line, Decimal(line["amount"])) for line in stay.lines if line["date"] in days]
    return _without(stay, removed, note)


def correct_third_party(stay: Stay, *, third_party: Decimal) -> Corrected:
    """third_party_not_deducted: the bill (already net of the third party's payment) re-quoted."""
    return Corrected(stay, Decimal(third_party), gettext(
        "Re-quoted with the %(amount)s paid by a third party deducted") % {"amount": f"{Decimal(third_party):.2f}"})


def not_payable(stay: Stay, note: str) -> Corrected:
    """The settlement should not have been paid by the fund at all."""
    return Corrected(None, stay.total, note)
