"""Read queries of the yearly ledger: the only place year-to-date figures come from."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from . import keys as ledger_keys
from .keys import FIGURE_NAMES, Figures
from .models import LedgerAccount, LedgerEntry
from .services import ledger_read


def accounts_of(person_id: int, year: int, benefit: str, item: str = "", *, lock: bool = False,
                inpatient_cap: bool = False):
    """{(benefit, item): figures} of the scopes this benefit reads, in one query; its `read` is what
    ledger_post re-checks."""
    return ledger_read([(person_id, year, b, i) for b, i in ledger_keys.read_scopes(
        benefit, item, inpatient_cap=inpatient_cap)], lock=lock).scoped()


def year_to_date(*, person_id: int, benefit: str, on: dt.date, item: str = "", inpatient_cap: bool = False) -> dict:
    """"Year to date for person P, benefit B, on date D": the quote request's `year_to_date`
    object, from the person's ledger of D's year (one query)."""
    accounts = accounts_of(person_id, on.year, benefit, item, inpatient_cap=inpatient_cap)
    return ledger_keys.year_to_date(benefit, accounts, item, inpatient_cap=inpatient_cap)


def discrepancies(limit: int = 100) -> list[tuple]:
    """Accounts whose figures differ from the sum of their entries (should be none): an audit
    check for operations, and what the tests assert after every writer."""
    sums = {}
    entry_rows = (LedgerEntry.objects.order_by().values("person_id", "year", "benefit", "item")
                  .annotate(**{n: Sum(n) for n in FIGURE_NAMES}))
    for row in entry_rows:
        fig = Figures(*(row[n] for n in FIGURE_NAMES))
        for (b, i), part in ledger_keys.split(row["benefit"], row["item"], fig).items():
            key = (row["person_id"], row["year"], b, i)
            sums[key] = sums.get(key, ledger_keys.EMPTY) + part
    out = []
    for account in LedgerAccount.objects.order_by().iterator(chunk_size=5000):
        got = Figures(*(getattr(account, n) for n in FIGURE_NAMES))
        want = sums.pop(account.key, ledger_keys.EMPTY)
        if got.as_tuple() != want.as_tuple():
            out.append((account.key, got, want))
    out.extend((key, ledger_keys.EMPTY, want) for key, want in sums.items() if want)
    return out[:limit]
