"""What the rule modules share: the focus filter and date formatting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator

from .facts import Facts, Settlement

Focus = Collection[str] | None


def judged(facts: Facts, focus: Focus) -> Iterator[Settlement]:
    """The settlements a single-settlement rule judges: all, or those in focus (the rest is history)."""
    if focus is None:
        yield from facts.settlements
    else:
        for s in facts.settlements:
            if s.id in focus:
                yield s


def involves(focus: Focus, *ids: str) -> bool:
    """A pair rule reports a set only when it holds a settlement in focus (or there is no focus)."""
    return focus is None or any(i in focus for i in ids)


def day(d: dt.date) -> str:
    return d.isoformat()
