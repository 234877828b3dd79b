"""A recovery's correction of an outpatient-pool visit under capitation (DOMAIN.md §8 and §9).

A pool institution is not paid its visits' fund amounts one by one: each month it is paid the
month's actual fund-payable up to the month's quota, and the year-end run pays actual + 50 % of
(quota − actual) when under quota, else the quota, minus what the months paid (services/runs.py,
capitation.py). So when a recovery (claims/supervision) lowers a visit's fund amount, what the
institution must give back is not the visit's difference but what it was paid too much.

Decisions (DOMAIN.md is silent):
- The visit row's fund, deductible and personal amounts are rewritten to the corrected figures
  (its bill stays as sent). A run sums the visits' fund amounts, so a visit not yet settled is
  then paid right by the coming run, and a later recovery of the same visit starts from what it
  should have paid. A statement's visit list shows the corrected fund; the statement keeps the
  figures it paid on.
- Settled or not is the visit's, as the runs decide it: its id at most its month's watermark
  (PoolAccount.watermarks). A visit not settled yet (its month not run, or a late visit) needs
  no order: correcting it is enough, the coming run pays on the corrected amount. Overpaid 0.
- A settled visit lowers its month's actual (PoolAccount.actuals) by the fund difference. The
  institution was overpaid what it received on the old actuals minus what it would have
  received on the corrected ones, both by the pure `settle` on the account's frozen head counts:
  * year open: the months paid, Σ min(actual, quota) — only the visit's month changes, so
    min(a, q) − min(a − δ, q): the whole δ under quota, nothing when the corrected actual is
    still at or above the quota (over quota the month was paid its quota either way);
  * year closed by the year-end run: the year's final figure (what the months and the year-end
    together paid), final(old) − final(new): half of δ under the annual quota (surplus share
    0.5), nothing when the corrected annual actual is still at or above it.
  The year-end run of an open year sees the corrected actual (that is its part of the effect).
- `settled_to_date` is lowered by that overpayment: the recovery order takes it back (offset
  against the institution's next payment orders), so a later run, which pays what is owed minus
  what was settled, must not take it back a second time. The books stay right whatever runs
  next: a reopened year's new year-end run then settles the rest.
- A correction that would raise the fund (the fund should have paid more) changes neither the
  visit nor the account: the fund does not pay more on a recovery (supervision/recovery.py).
- A closed account is corrected too (no run settles it again; the order carries the money).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from medins.benefits.rounding import ZERO, round_money
from medins.selectors import policy_in_force

from ..capitation import MonthFigures, rates_of, settle, year_start
from ..models import PoolAccount, Visit
from ..selectors import headcounts, month_actuals, watermarks_of


@dataclass(frozen=True, slots=True)
class CapitationEffect:
    """What correcting one pool visit's fund did to its institution's capitation account."""

    month: int
    fund_before: Decimal
    fund_after: Decimal
    settled: bool  # the visit was settled by a run before the correction
    closed: bool  # the account's year was closed by its year-end run
    actual_before: Decimal | None = None  # the month's actual on the account (settled visits only)
    actual_after: Decimal | None = None
    quota: Decimal | None = None  # the month's quota
    received_before: Decimal = ZERO  # paid so far (open year) or the year's final (closed)
    received_after: Decimal = ZERO
    overpaid: Decimal = ZERO  # what the institution must give back

    def as_dict(self) -> dict:
        def s(v):
            return None if v is None else str(v)

        return {"month": self.month, "fund_before": s(self.fund_before), "fund_after": s(self.fund_after),
                "settled": self.settled, "closed": self.closed, "actual_before": s(self.actual_before),
                "actual_after": s(self.actual_after), "quota": s(self.quota),
                "received_before": s(self.received_before), "received_after": s(self.received_after),
                "overpaid": s(self.overpaid)}


def pool_account_lock(*, institution_id: int, year: int) -> PoolAccount:
    """The institution-year's account row locked (the lock ingestion and the runs take first)."""
    PoolAccount.objects.get_or_create(institution_id=institution_id, year=year)
    return PoolAccount.objects.select_for_update().get(institution_id=institution_id, year=year)


def _received(account: PoolAccount, actuals: dict[int, Decimal], rates, institution_id: int) -> tuple:
    frozen = {int(k): v for k, v in account.headcounts.items()}
    missing = [k for k in actuals if k not in frozen]  # not expected: a run freezes every month it settles
    frozen.update(headcounts(institution_id=institution_id, year=account.year, months=missing))
    result = settle([MonthFigures(k, n, actuals.get(k, ZERO)) for k, n in sorted(frozen.items())], rates)
    return result, (result.final if account.closed else result.paid_monthly)


def pool_visit_correct(*, visit_id: int, fund: Decimal, deductible: Decimal) -> CapitationEffect:
    """Rewrite a pool visit's fund to `fund` (a recovery's re-quote) and correct its
    institution-year capitation account; returns the effect, whose `overpaid` is what the
    institution must give back. Call inside the recovery's transaction."""
    visit = Visit.objects.select_related("institution__region").get(pk=visit_id)
    account = pool_account_lock(institution_id=visit.institution_id, year=visit.year)
    visit.refresh_from_db(fields=["fund", "deductible", "personal"])
    before, month = visit.fund, visit.month
    settled = visit.pk <= watermarks_of(account).get(month, 0)
    plain = CapitationEffect(month=month, fund_before=before, fund_after=before, settled=settled,
                             closed=account.closed)
    if fund >= before:
        return plain
    if account.actuals is None and settled:  # an account from before actuals were kept: sum them first
        account.actuals = {str(k): str(f) for k, (f, _n, _t) in month_actuals(
            institution_id=visit.institution_id, year=visit.year, through_month=12, marks=watermarks_of(account),
            settled=True).items()}
    Visit.objects.filter(pk=visit.pk).update(fund=fund, deductible=deductible, personal=visit.total - fund)
    if not settled:
        return replace(plain, fund_after=fund)
    delta = before - fund
    old = {int(k): Decimal(v) for k, v in account.actuals.items()}
    new = {**old, month: round_money(old.get(month, ZERO) - delta)}
    rates = rates_of(policy_in_force(region=visit.institution.region.code, date=year_start(visit.year)))
    result_old, received_old = _received(account, old, rates, visit.institution_id)
    _result_new, received_new = _received(account, new, rates, visit.institution_id)
    overpaid = received_old - received_new
    quota = next((m.quota for m in result_old.monthly if m.month == month), None)
    PoolAccount.objects.filter(pk=account.pk).update(
        actuals={str(k): str(v) for k, v in sorted(new.items())},
        settled_to_date=account.settled_to_date - overpaid)
    return CapitationEffect(month=month, fund_before=before, fund_after=fund, settled=True, closed=account.closed,
                            actual_before=old.get(month, ZERO), actual_after=new[month], quota=quota,
                            received_before=received_old, received_after=received_new, overpaid=overpaid)
