"""Monthly care claims: reading a claim, checking each billed day and computing each resident's
shares (DOMAIN.md §7, contracts/quote.md ``long_term_care``). Pure Python on facts the services
read with a fixed number of set-based queries (``carecare.selectors.claim_facts``).

Reading (``claim_parse``, ``rows_to_residents``): per resident an ID number and the billed days,
each with its date and its costs by item (bed, nursing, supplies, other). A value that cannot be
read, a day outside the claimed month, a day billed twice for a resident or a resident listed
twice refuses the whole claim (``InvalidClaim`` listing every problem with its row and field):
a claim is one document, accepting part of a malformed one would make the "same claim sent
again" rule meaningless. Files may use the Chinese column headers (``COLUMN_ALIASES``).

Checking each day, the first reason that applies (REASONS, Chinese in the zh_Hans catalogue):

1. ``unknown_person`` — no insured person has the ID number (the whole line);
2. ``after_death`` — on or after the date of death (a stay ended by death or a stop of cover for
   death);
3. ``not_covered`` — no active coverage period (enrollment) covers the day;
4. ``not_resident`` — the person did not stay in this home that day (admission day in,
   discharge/transfer/death day out: carecare.selectors.care_days);
5. ``inpatient`` — inside an inpatient stay the system knows of: a reimbursement case of benefit
   inpatient (not rejected nor withdrawn) with admission ≤ day < discharge (decision: the
   discharge day is a day in the home again, as the return day of an absence is; a same-day
   admission and discharge refuses that day);
6. ``hospital_absence`` / ``absent`` — an absence from the home recorded on the stay;
7. ``grey_list`` — the resident is on the grey list that day (direct settlement suspended, DOMAIN.md
   §9): the fund-security rule ``grey_list`` (block) on a care day, whose service date is the day;
   the periods are read with the claim's facts (selectors.claim_facts).

Refused days are left out of the engine (contract: "days the person was an inpatient, was not
covered, or had died are left out by the caller"); their costs are the line's
``refused_amount``, paid by neither the fund nor counted as the resident's share.

Computing: the payable days are split by the assessment in force on each day
(``medins.benefits.long_term_care.claim_periods`` — a new assessment inside the month splits
them) and each period goes through the engine's batch path (``care_terms`` + ``care_split``:
rule per day, age in completed years per day, so a birthday splits inside the engine). A payable
day that no rule pays is flagged ``no_rule`` (fund 0, not refused).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from enrollment.idnumber import normalize
from medins.benefits import care_scales
from medins.benefits.long_term_care import NO_RULE, AssessmentWindow, care_split, care_terms, claim_periods
from medins.parsing import Column, ParseError, column_set, header_fields, parse_date, parse_money, parse_text

ZERO = Decimal("0.00")
ITEMS = ("bed", "nursing", "supplies", "other")
ONE_DAY = dt.timedelta(days=1)

REASONS = {
    "unknown_person": _("No insured person has this ID number"),
    "after_death": _("On or after the date of death"),
    "not_covered": _("Not insured on this day"),
    "not_resident": _("Not resident in this care home on this day"),
    "inpatient": _("Inside an inpatient stay (a hospital reimbursement case)"),
    "hospital_absence": _("Absent from the home: in hospital"),
    "absent": _("Absent from the home"),
    "grey_list": _("The resident is on the grey list: direct settlement suspended (fund security)"),
}
FLAGS = {
    "no_rule": _("No benefit rule applies on this day (no disability grade and under 85): the resident pays"),
}
RULE_LABELS = {
    "severe": _("Severe disability"),
    "moderate": _("Moderate disability"),
    "aged": _("Aged 90 or over"),
    "aged_bed_fee": _("Aged 85 to 89: bed fee"),
    NO_RULE: _("No rule applies"),
}

# Column headers a file may use (Chinese or English), for each field.
COLUMN_ALIASES = column_set(
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码")),
    Column("name", "姓名"),
    Column("date", "日期", ("服务日期", "照护日期")),
    Column("bed", "床位费"),
    Column("nursing", "护理费"),
    Column("supplies", "护理耗材费", ("耗材费",)),
    Column("other", "其他费用", ("其他",)),
)
REQUIRED_COLUMNS = ("id_number", "date", "bed", "nursing", "supplies")


def reason_text(code: str) -> str:
    return str(REASONS.get(code) or FLAGS.get(code) or code)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class DayIn:
    date: dt.date
    items: dict[str, Decimal]
    texts: tuple[str, ...]  # the date and the amounts as canonical text (ROW_KEYS): the digest and the line's days


ROW_KEYS = ("date", *ITEMS)
ALLOWED_KEYS = frozenset((*ROW_KEYS, "_line", "name"))


@dataclass(slots=True)
class ResidentIn:
    id_number: str
    days: list[DayIn]


def month_of(value) -> dt.date:
    """"2021-06", "2021-06-01" or a date → the first day of the month (ParseError on "month")."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and len(text) == 7:
        text += "-01"
    return parse_date(text, "month").replace(day=1)


def _error(errors: list, row, field_name: str, message) -> None:
    errors.append({"row": row, "field": field_name, "message": str(message)})


def claim_parse(*, month: dt.date, residents, max_residents: int = 5000) -> list[ResidentIn]:
    """The claim as sent (a list of {id_number, days: [{date, bed, nursing, supplies, other}]}),
    read through medins.parsing; raises InvalidClaim listing every problem. A day's `_line` (the
    file line) names the row in errors when the claim came from a file."""
    from .errors import InvalidClaim

    if not isinstance(residents, list) or not residents:
        raise InvalidClaim(str(_("A claim lists at least one resident.")), field="residents")
    if len(residents) > max_residents:
        raise InvalidClaim(str(_("A claim lists at most %(max)s residents.") % {"max": max_residents}), field="residents")
    end = (month + dt.timedelta(days=32)).replace(day=1)
    last = end - ONE_DAY
    errors: list[dict] = []
    seen: set[str] = set()
    out = []
    # A month's claim repeats the same few dates and amounts thousands of times: each distinct
    # text is read once through medins.parsing (the checks are the parser's), then reused.
    dates_read: dict = {}
    amounts_read: dict = {}

    def _date(value, lenient: bool) -> tuple[dt.date, str]:
        key = (value, lenient) if isinstance(value, str) else None
        found = dates_read.get(key) if key is not None else None
        if found is None:
            day = parse_date(value, "date", earliest=month, latest=last, lenient=lenient)
            found = (day, day.isoformat())
            if key is not None:
                dates_read[key] = found
        return found

    def _amount(value, item: str) -> tuple[Decimal, str]:
        key = (value, item == "other") if isinstance(value, str) else None
        found = amounts_read.get(key) if key is not None else None
        if found is None:
            amount = parse_money(value, item) if item != "other" else parse_money(value, item, default=ZERO)
            found = (amount, str(amount))
            if key is not None:
                amounts_read[key] = found
        return found

    for r, resident in enumerate(residents, start=1):
        if not isinstance(resident, dict):
            _error(errors, r, "residents", _("must be an object"))
            continue
        try:
            id_number = normalize(parse_text(resident.get("id_number"), "id_number", max_length=18, required=True))
        except ParseError as exc:
            _error(errors, resident.get("_line", r), "id_number", exc.message.localized())
            continue
        if id_number in seen:
            _error(errors, resident.get("_line", r), "id_number", _("the resident is listed twice"))
            continue
        seen.add(id_number)
        days_in = resident.get("days")
        if not isinstance(days_in, list) or not days_in:
            _error(errors, r, "days", _("lists at least one day"))
            continue
        dates: set[dt.date] = set()
        days = []
        for d, day in enumerate(days_in, start=1):
            if type(day) is not dict:
                _error(errors, f"{r}.{d}", "days", _("must be an object"))
                continue
            try:
                date, date_text = _date(day.get("date"), "_line" in day)
                bed, nursing, supplies, other = (_amount(day.get(item), item) for item in ITEMS)
            except ParseError as exc:
                _error(errors, day.get("_line", f"{r}.{d}"), exc.field, exc.message.localized())
                continue
            if not ALLOWED_KEYS.issuperset(day):
                unknown = sorted(k for k in day if k not in ALLOWED_KEYS)
                _error(errors, day.get("_line", f"{r}.{d}"), unknown[0],
                       _("is not an item of a care day (bed, nursing, supplies, other)"))
                continue
            if date in dates:
                _error(errors, day.get("_line", f"{r}.{d}"), "date", _("this day is billed twice for the resident"))
                continue
            dates.add(date)
            days.append(DayIn(date, {"bed": bed[0], "nursing": nursing[0], "supplies": supplies[0], "other": other[0]},
                              (date_text, bed[1], nursing[1], supplies[1], other[1])))
        days.sort(key=lambda x: x.date)
        out.append(ResidentIn(id_number, days))
    if errors:
        raise InvalidClaim(str(_("The claim cannot be read: %(n)s problem(s).") % {"n": len(errors)}), errors=errors)
    return out


def rows_to_residents(rows: Iterable[Mapping[str, str]]) -> list[dict]:
    """File rows (one per resident and day, Chinese or English headers) → the claim's residents,
    in the order they first appear; each day keeps its file line (`_line`). Raises InvalidClaim
    when a required column is missing."""
    from .errors import InvalidClaim

    rows = list(rows)
    headers = [k for row in rows[:1] for k in row if k != "_line"]
    column = {name: header for header, name in header_fields(headers, COLUMN_ALIASES).items()}
    missing = [name for name in REQUIRED_COLUMNS if name not in column]
    if missing:
        raise InvalidClaim(str(_("The file needs the columns %(columns)s.")
                               % {"columns": "、".join(COLUMN_ALIASES[m].shown() for m in missing)}), field="file")
    residents: dict[str, dict] = {}
    for row in rows:
        key = normalize(str(row.get(column["id_number"]) or ""))
        resident = residents.setdefault(key, {"id_number": key, "days": [], "_line": row.get("_line")})
        day = {"_line": row.get("_line"), "date": row.get(column["date"], "")}
        for item in ITEMS:
            value = row.get(column[item], "") if item in column else ""
            day[item] = value.strip() if isinstance(value, str) else value
        resident["days"].append(day)
    return list(residents.values())


def claim_digest(residents: list[ResidentIn]) -> str:
    """SHA-256 of the claim's content, independent of the order residents and days were sent in."""
    canon = sorted((r.id_number, [",".join(d.texts) for d in r.days]) for r in residents)
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()


def residents_of_lines(lines) -> list[ResidentIn]:
    """The residents and days as stored on a claim's lines (to check them again)."""
    dates: dict[str, dt.date] = {}
    amounts: dict[str, Decimal] = {}

    def day_of(text):
        found = dates.get(text)
        if found is None:
            found = dates[text] = dt.date.fromisoformat(text)
        return found

    def amount_of(text):
        found = amounts.get(text)
        if found is None:
            found = amounts[text] = Decimal(text)
        return found

    return [ResidentIn(line.id_number, [DayIn(day_of(d["date"]), {i: amount_of(d[i]) for i in ITEMS},
                                              (d["date"], d["bed"], d["nursing"], d["supplies"], d["other"]))
                                        for d in line.days]) for line in lines]


# --------------------------------------------------------------------------- checking and computing


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the checks need to know of one person for the month (carecare.selectors.claim_facts)."""

    person_id: int
    birth_date: dt.date
    covered: tuple[tuple[dt.date, dt.date], ...]  # inclusive intervals
    days: Mapping[dt.date, object]  # date → selectors.CareDay
    inpatient: tuple[tuple[dt.date, dt.date], ...]  # (admission, discharge)
    assessments: tuple = ()  # selectors.AssessmentPeriod, in date order
    # grey-list periods (inclusive; the fund-security rule grey_list, DOMAIN.md §9)
    grey: tuple[tuple[dt.date, dt.date], ...] = ()


@dataclass(slots=True)
class LineResult:
    id_number: str
    person_id: int | None
    days: list[dict]
    groups: list[dict] = field(default_factory=list)
    line_refusal: str = ""
    days_billed: int = 0
    days_paid: int = 0
    days_refused: int = 0
    total: Decimal = ZERO
    fund: Decimal = ZERO
    personal: Decimal = ZERO
    refused_amount: Decimal = ZERO
    eligible: Decimal = ZERO
    first_paid: dt.date | None = None

    def figures(self) -> tuple:
        """What approval compares with the stored line."""
        return (self.person_id, self.days_paid, self.days_refused, self.fund, self.personal, self.refused_amount)


def _inside(intervals, day: dt.date) -> bool:
    return any(a <= day <= b for a, b in intervals)


def _inpatient(intervals, day: dt.date) -> bool:
    return any(a <= day < b or a == b == day for a, b in intervals)


def day_refusal(facts: PersonFacts | None, home_id: int, day: dt.date) -> str:
    """The reason a billed day is refused ("" when payable), first that applies (module docstring)."""
    if facts is None:
        return "unknown_person"
    care_day = facts.days.get(day)
    if care_day is not None and care_day.dead:
        return "after_death"
    if not _inside(facts.covered, day):
        return "not_covered"
    if care_day is None or care_day.home_id != home_id:
        return "not_resident"
    if _inpatient(facts.inpatient, day):
        return "inpatient"
    if care_day.absent:
        return "hospital_absence" if care_day.absence_reason == "hospital" else "absent"
    return "grey_list" if facts.grey and _inside(facts.grey, day) else ""


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def evaluate_line(resident: ResidentIn, facts: PersonFacts | None, *, home_id: int, policy_for) -> LineResult:
    """Check each day of one resident and compute the payable days' shares. `policy_for(date)`
    gives the policy snapshot in force on a date (a medins.selectors.PolicyCache per claim)."""
    out = LineResult(resident.id_number, facts.person_id if facts else None, [])
    payable: dict[dt.date, dict[str, Decimal]] = {}
    for d in resident.days:
        items = d.items
        cost = items["bed"] + items["nursing"] + items["supplies"] + items["other"]
        row = dict(zip(ROW_KEYS, d.texts, strict=True))
        reason = day_refusal(facts, home_id, d.date)
        out.total += cost
        if reason:
            row["refused"] = reason
            out.days_refused += 1
            out.refused_amount += cost
        else:
            payable[d.date] = d.items
        out.days.append(row)
    out.days_billed = len(resident.days)
    if facts is None:
        out.line_refusal = "unknown_person"
        return out
    if not payable:
        return out
    windows = [AssessmentWindow(p, p.start, p.end - ONE_DAY) for p in facts.assessments]
    no_rule: set[dt.date] = set()
    for period in claim_periods(payable, windows):
        policy = policy_for(period.days[0])
        terms = care_terms(policy)
        a = period.assessment
        grade = care_scales.benefit_grade(policy, a.scale_version, a.score) if a is not None else None
        missing = terms.day_items - set(ITEMS)
        if missing:
            from .errors import GuardFailed

            raise GuardFailed(f"policy {terms.version} names care-day items this claim form does not carry: "
                              f"{', '.join(sorted(missing))}")
        for g in care_split(terms, birth_date=facts.birth_date, grade=grade,
                            days=[(day, payable[day]) for day in period.days]):
            out.fund += g.fund
            out.personal += g.cost + g.other - g.fund
            out.eligible += g.covered
            if g.rule is None:
                no_rule.update(g.dates)
            out.groups.append({
                "assessment": a.assessment_id if a is not None else None, "grade": grade, "rule": g.name,
                "days": len(g.dates), "first": g.dates[0].isoformat(), "last": g.dates[-1].isoformat(),
                "cost": _money(g.cost + g.other), "covered": _money(g.covered), "eligible": _money(g.eligible),
                "fund": _money(g.fund), "rate": str(g.rule.rate.normalize()) if g.rule else None,
                "policy_version": terms.version})
    out.days_paid = len(payable)
    out.first_paid = min(payable)
    if no_rule:
        for row in out.days:
            if "refused" not in row and dt.date.fromisoformat(row["date"]) in no_rule:
                row["flag"] = "no_rule"
    return out


def evaluate(residents: list[ResidentIn], *, home_id: int, facts_by_id: Mapping[str, PersonFacts],
             policy_for) -> list[LineResult]:
    return [evaluate_line(r, facts_by_id.get(r.id_number), home_id=home_id, policy_for=policy_for) for r in residents]


def intervals_index(pairs: Iterable[tuple[int, dt.date, dt.date]]) -> dict[int, tuple]:
    out: dict[int, list] = {}
    for pid, a, b in pairs:
        bisect.insort(out.setdefault(pid, []), (a, b))
    return {pid: tuple(v) for pid, v in out.items()}
