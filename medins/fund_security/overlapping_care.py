"""overlapping_care (block if one side is `long_term_care`, else review): two inpatient or
day-surgery stays of one person at different institutions share a day; a long-term-care line
dated on a stay day; an outpatient settlement at another institution dated on a stay day other
than `admitted`.

Settlements named: the pair.

Precise readings (contract "Overlapping care"): always within one person. "Outpatient" means
`outpatient_pool`, `chronic`, `special_disease`, `special_drug` and `two_diseases`, dated by
`service_date`; the long-term-care branch compares each care line's date with the stay days, at
any institution (the same one included). Stay days run from `admitted` to the day before
`discharged` (one day, `admitted`, for a day surgery), so an outpatient visit on the discharge
day, or at the stay's own institution, is no finding.

Scale: per person, stays sorted by admission; the stays that overlap are found by a sweep
keeping the stays still running, a date's stays by bisecting the admissions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict

from ._common import Focus, day, involves, judged
from .facts import OUTPATIENT_BENEFITS, Facts, Settlement
from .params import Params
from .result import BLOCK, REVIEW, RuleResult

NAME = "overlapping_care"
SEVERITIES = frozenset({BLOCK, REVIEW})
PARAMETERS: tuple[str, ...] = ()


def _span(s: Settlement) -> str:
    return f"{day(s.admitted)} to {day(s.stay_last)}"


def _containing(stays: list[Settlement], starts: list, d) -> list[Settlement]:
    """The stays (sorted by admission) with `d` among their stay days."""
    return [t for t in stays[:bisect_right(starts, d)] if t.stay_last >= d]


def _days(dates: list) -> str:
    dates = sorted(set(dates))
    shown = ", ".join(day(d) for d in dates[:5])
    return shown + (f" and {len(dates) - 5} more" if len(dates) > 5 else "")


def _person(result: RuleResult, stays: list[Settlement], others: list[Settlement], focus: Focus) -> None:
    # Two stays at different institutions sharing a day.
    running: list[Settlement] = []
    for s in stays:
        running = [t for t in running if t.stay_last >= s.admitted]
        for t in running:
            if t.institution != s.institution and involves(focus, s.id, t.id):
                last = min(s.stay_last, t.stay_last)
                result.add((s.id, t.id), (s.person,),
                           f"{t.id} at {t.institution} ({_span(t)}) and {s.id} at {s.institution} ({_span(s)}) "
                           f"share stay days {day(s.admitted)} to {day(last)}", REVIEW)
        running.append(s)

    starts = [s.admitted for s in stays]
    for o in others:
        if o.benefit == "long_term_care":
            hits: dict[str, tuple[Settlement, list]] = {}
            for line in o.lines:
                for t in _containing(stays, starts, line.date):
                    hits.setdefault(t.id, (t, []))[1].append(line.date)
            for t, dates in hits.values():
                if involves(focus, o.id, t.id):
                    result.add((o.id, t.id), (o.person,),
                               f"{o.id} (long_term_care) has care days {_days(dates)} within {t.id}'s stay at "
                               f"{t.institution} ({_span(t)})", BLOCK)
        elif o.benefit in OUTPATIENT_BENEFITS:
            for t in _containing(stays, starts, o.day):
                if t.institution != o.institution and o.day != t.admitted and involves(focus, o.id, t.id):
                    result.add((o.id, t.id), (o.person,),
                               f"{o.id} ({o.benefit} at {o.institution}) on {day(o.day)}, a day of {t.id}'s stay at "
                               f"{t.institution} ({_span(t)})", REVIEW)


def find(facts: Facts, params: Params, *, focus: Focus = None) -> RuleResult:
    result = RuleResult(NAME)
    stays_by_person = facts.stays_by_person()
    # Only persons with a settlement in focus can have a reported pair.
    persons = set(stays_by_person) if focus is None else {s.person for s in judged(facts, focus)} & stays_by_person.keys()
    others: dict[str, list[Settlement]] = defaultdict(list)
    for s in facts.settlements:
        if s.person in persons and (s.benefit == "long_term_care" or s.benefit in OUTPATIENT_BENEFITS):
            others[s.person].append(s)
    for person in sorted(persons):
        _person(result, stays_by_person[person], others.get(person, []), focus)
    return result
