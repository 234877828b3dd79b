"""Errors of the ledger service."""

from __future__ import annotations


class LedgerChanged(Exception):
    """An account a computation read changed before its entries were written: nothing was saved.

    The caller recomputes on the figures now in force (a case) or refuses the batch (visits)."""

    code = "ledger_changed"

    def __init__(self, keys):
        self.keys = sorted(keys)
        super().__init__(f"year-to-date figures changed for {len(self.keys)} account(s) since they were read")


class LedgerRefused(Exception):
    """A posting the ledger cannot take (e.g. reversing an entry twice)."""

    code = "ledger_refused"
