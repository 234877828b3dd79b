"""Fund-security services (DOMAIN.md §9, issue 15 items 2–4): the nightly review job writing
findings, the block check the money services call, the finding workflow (four eyes) and the
grey list.

The rules themselves are pure (``medins.fund_security.check``, contracts/fund-security.md); this
module reads their facts (``facts.py``), calls them and records what they found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medins.workflow import transition

from . import facts as F
from .errors import FourEyes, InvalidFindingTransition, InvalidGreyListEntry
from .models import CheckRun, Finding, FindingSettlement, GreyListEntry, RunState
from .workflow import FINDINGS, FindingState

S = FindingState

REVIEW_RULES = ("excess_prescription", "bed_holding", "duplicate_charge", "overlapping_care", "split_admission")
# The review rules that judge without lines; each pairs a stay with a settlement of the same person.
STAY_PAIR_RULES = ("overlapping_care", "split_admission")
assert set(REVIEW_RULES) == set(STAY_PAIR_RULES) | set(F.LINE_RULES)
BLOCK_RULES = ("duplicate_invoice", "benefit_twice", "third_party_not_deducted", "not_covered", "certification_mismatch",
               "grey_list", "overlapping_care")
# The reason of each rule, as the money services refuse with it (issue 15 item 2) and the queue shows
# it above the engine's evidence; lazy: read in the reader's language.
REASONS = {
    "duplicate_invoice": gettext_lazy("The same invoice has already been settled (claimed twice)"),
    "benefit_twice": gettext_lazy("The same benefit received twice"),
    "third_party_not_deducted": gettext_lazy("The fund paid without deducting what a third party had paid"),
    "not_covered": gettext_lazy("The service date is outside the paid cover (or after the date of death)"),
    "certification_mismatch": gettext_lazy(
        "No valid chronic or special-disease certification, two-diseases registration or special-drug approval (the "
        "disease, drug or designated institution does not match)"),
    "grey_list": gettext_lazy("The person is on the grey list: direct settlement is suspended (a manual claim is "
                              "possible)"),
    "overlapping_care": gettext_lazy("Overlaps another inpatient stay or care period (care or another stay cannot be "
                                     "settled during a stay)"),
    "split_admission": gettext_lazy("Suspected split admission"),
    "bed_holding": gettext_lazy("Suspected bed-holding"),
    "duplicate_charge": gettext_lazy("Suspected duplicate bed charge"),
    "excess_prescription": gettext_lazy("Suspected excess prescription"),
}
DEFAULT_WINDOW = max(F.DEFAULT_SPLIT_DAYS, F.DEFAULT_SUPPLY_WINDOW)


def _policy(region: str, day: dt.date, policies=None):
    """The policy in force (through the caller's PolicyCache when it has one)."""
    from medins.selectors import policy_in_force

    return policies.get(region=region, date=day) if policies is not None else policy_in_force(region=region, date=day)


def _run(facts: F.Facts, *, severities, rules=None, focus=None, refs=None, itemised_only: bool = False,
         policies=None, timings=None) -> dict:
    """The rules over facts read from the database: medins.fund_security.run_rules on Facts built
    directly (facts.rule_facts), the response as check() gives it. `policies`: a PolicyCache of a
    batch caller."""
    from medins.fund_security import parameters_of, params_from_policy, run_rules, select_rules

    selected = select_rules(severities=severities, rules=rules)
    policy = _policy(facts.region, facts.as_of, policies)
    params = params_from_policy(policy, parameters_of(selected))
    with F.phase(timings, "build the rules' facts"):
        rule_facts = facts.rule_facts(refs=refs, itemised_only=itemised_only)
    outcome = run_rules(rule_facts, params, severities=severities, rules=selected, focus=focus, timings=timings)
    with F.phase(timings, "findings as dicts"):
        return outcome.as_response(region=facts.region, policy_version=policy.version)


def finding_key(rule: str, refs: Iterable[str]) -> str:
    """The uniqueness key of a finding: rule + its sorted settlement refs."""
    return hashlib.sha256(f"{rule}|{','.join(sorted(refs))}".encode()).hexdigest()


def block_message(finding: dict) -> str:
    """The refusal shown by a money service: the rule's reason in the active language and the rule's
    evidence (English by contract). A batch's row report keeps it as written."""
    rule = finding["rule"]
    return _("Refused by a fund-security rule [%(reason)s] (%(rule)s): %(evidence)s") % {
        "reason": REASONS.get(rule, rule), "rule": rule, "evidence": finding.get("evidence", "")}


def look_back_days(region: str, day: dt.date, policies=None) -> int:
    """How far around a day the rules look (the split-admission and supply windows in force)."""
    from medins.benefits.policy import MissingParameter

    try:
        policy = _policy(region, day, policies)
        return int(max(policy.get("fund_security.split_admission_days"), policy.get("fund_security.supply_window_days"))) + 1
    except MissingParameter:
        return DEFAULT_WINDOW + 1


# --------------------------------------------------------------------------- block rules at payment


def block_refusals(facts: F.Facts, new_refs: list[str], *, rules=None, policies=None) -> dict[str, dict]:
    """The block rules (`rules`: all of them by default) over what is about to be paid (`new_refs`,
    in the order received) and the facts around it; returns {ref: the first finding refusing it}."""
    if not new_refs:
        return {}
    response = _run(facts, severities={"block"}, rules=rules, focus=new_refs, policies=policies)
    return refusals_of(response["findings"], new_refs)


def refusals_of(findings: list[dict], new_refs: list[str]) -> dict[str, dict]:
    """{ref: the first finding refusing it} of block findings over new settlements (`new_refs`, in
    the order received). A finding between a new settlement and one already paid refuses the new
    one. A finding whose settlements are all new refuses all but the first of them (two rows of one
    batch with one invoice: the first goes through, the second is the duplicate)."""
    order = {r: i for i, r in enumerate(new_refs)}
    refused: dict[str, dict] = {}
    for finding in findings:
        new = sorted((r for r in finding["settlements"] if r in order), key=order.__getitem__)
        if len(new) == len(finding["settlements"]) and len(new) > 1:
            new = new[1:]
        for r in new:
            refused.setdefault(r, finding)
    return refused


# --------------------------------------------------------------------------- the nightly job


def _questioned(refs: list[str], meta: dict) -> str:
    """The settlement a finding questions: the latest by service date (the one paid second)."""
    return max(refs, key=lambda r: (meta[r][4], r))


def nightly_check(*, region: str, day: dt.date, timings: dict[str, list[float]] | None = None) -> CheckRun:
    """Run the review rules over a region's day of settlements and write the findings that are not
    recorded yet (idempotent: the same rule on the same settlements is one Finding, ``key``).

    Findings are kept only when they name at least one settlement of the day (older pairs were the
    business of earlier nights)."""
    from medins.models import Region

    region_obj = Region.objects.get(code=region)
    with transaction.atomic():
        run, created = CheckRun.objects.get_or_create(region=region_obj, day=day)
        run = CheckRun.objects.select_for_update().get(pk=run.pk)
        if not created:
            run.runs += 1
        run.state, run.error = RunState.RUNNING, ""
        run.save(update_fields=["runs", "state", "error"])
    try:
        facts, today = F.day_facts(region=region, day=day, look_back_days=look_back_days(region, day), with_persons=False,
                                   timings=timings)
        # The review rules without lines (split_admission, overlapping_care) pair a stay with another
        # settlement of its person: only the persons holding a stay are sent (a fifth of the day).
        with_stays = {s["person"] for s in facts.settlements.values() if s["benefit"] in F.STAYS}
        response = _run(facts, severities={"review"}, focus=today,
                        refs=[r for r, s in facts.settlements.items() if s["person"] in with_stays],
                        rules=STAY_PAIR_RULES, timings=timings)
        findings = list(response["findings"])
        undecided = {k: list(v) for k, v in response.get("undecided", {}).items()}
        version = response.get("policy_version", "")
        if any(s["lines"] for s in facts.settlements.values()):
            lined = _run(facts, severities={"review"}, rules=list(F.LINE_RULES), itemised_only=True,
                         focus=today & {r for r, s in facts.settlements.items() if s["lines"]}, timings=timings)
            findings += lined["findings"]
            for k, v in lined.get("undecided", {}).items():
                undecided.setdefault(k, []).extend(v)
        for r in facts.not_itemised():
            if r in today and facts.settlements[r]["benefit"] in F.STAYS:
                undecided.setdefault("bed_holding", []).append(r)
        findings = [f for f in findings if any(r in today for r in f["settlements"])]
        with F.phase(timings, "write findings"):
            new, known = _record_findings(region_obj, version, findings, facts, run)
        counts = {rule: len({r for r in refs if r in today}) for rule, refs in undecided.items()}
        CheckRun.objects.filter(pk=run.pk).update(
            state=RunState.DONE, finished_at=timezone.now(), policy_version=version, settlements=len(today),
            history_settlements=len(facts.settlements) - len(today), findings_new=new, findings_known=known,
            undecided={k: v for k, v in counts.items() if v})
    except Exception as exc:
        CheckRun.objects.filter(pk=run.pk).update(state=RunState.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000])
        raise
    run.refresh_from_db()
    return run


def _record_findings(region, version: str, findings: list[dict], facts: F.Facts, run: CheckRun) -> tuple[int, int]:
    by_key = {finding_key(f["rule"], f["settlements"]): f for f in findings}
    keys = sorted(by_key)
    existing: set[str] = set()
    for start in range(0, len(keys), F.CHUNK):
        existing.update(Finding.objects.filter(key__in=keys[start:start + F.CHUNK]).values_list("key", flat=True))
    fresh = [k for k in keys if k not in existing]
    created = 0
    for start in range(0, len(fresh), 2000):
        batch = fresh[start:start + 2000]
        try:
            created += _insert_findings(region, version, batch, by_key, facts, run)
        except IntegrityError:  # a concurrent run of the same day wrote some of them first: skip those
            taken = set(Finding.objects.filter(key__in=batch).values_list("key", flat=True))
            created += _insert_findings(region, version, [k for k in batch if k not in taken], by_key, facts, run)
    return created, len(existing)


def _insert_findings(region, version: str, batch: list[str], by_key: dict, facts: F.Facts, run: CheckRun) -> int:
    meta = facts.meta
    if not batch:
        return 0
    with transaction.atomic():
        rows = []
        for key in batch:
            f = by_key[key]
            refs = sorted(f["settlements"])
            q = _questioned(refs, meta)
            _kind, _pk, _person, institution_id, day, fund = meta[q]
            rows.append(Finding(
                key=key, region=region, rule=f["rule"], rule_version=version, severity=f["severity"],
                settlement_refs=refs, institution_id=institution_id, month=day.replace(day=1), service_date=day,
                evidence=f.get("evidence", ""), facts={r: F.jsonable(facts.settlements[r]) for r in refs},
                suggested_amount=fund, run=run))
        if connection.vendor == "postgresql":
            _copy_rows(Finding, rows)
            ids = dict(Finding.objects.filter(key__in=batch).values_list("key", "pk"))
            for finding in rows:
                finding.pk = ids[finding.key]
        else:
            Finding.objects.bulk_create(rows)
        links, persons = [], []
        for finding in rows:
            for r in finding.settlement_refs:
                kind, pk, person, institution_id, day, fund = meta[r]
                s = facts.settlements[r]
                links.append(FindingSettlement(finding_id=finding.pk, kind=kind, object_id=pk, ref=r, person_id=person,
                                               institution_id=institution_id, via=s.get("via", "direct"),
                                               service_date=day, total=Decimal(s["total"]), fund=fund))
            for person in sorted({meta[r][2] for r in finding.settlement_refs}):
                persons.append(Finding.persons.through(finding_id=finding.pk, person_id=person))
        if connection.vendor == "postgresql":
            _copy_rows(FindingSettlement, links)
            _copy_rows(Finding.persons.through, persons)
        else:
            FindingSettlement.objects.bulk_create(links, batch_size=5000)
            Finding.persons.through.objects.bulk_create(persons, batch_size=5000)
        return len(rows)


def _copy_rows(model, objs: list) -> None:
    """INSERT the unsaved instances with one COPY (PostgreSQL). Not bulk_create: Django 5.2 sends
    each column as one array parameter, which psycopg escapes element by element with a regex (every
    quote of the findings' JSON facts): 20 s for 10 000 findings, against well under one by COPY."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.wrap_database_errors, connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])



# --------------------------------------------------------------------------- the finding workflow


def finding_guard(finding, frm, to, changes, acting_user) -> None:
    """Four eyes: the second person's decision on a confirmation — approving it or sending it
    back — is never the confirmer's (as a case's approver is never its reviewer,
    claims.services.cases.case_approve)."""
    if frm == S.CONFIRMED_PENDING_SECOND and acting_user.pk == finding.confirmed_by_id:
        if to == S.CONFIRMED:
            raise FourEyes(_("The second confirmation must be given by another supervisor, not the one who confirmed first."))
        raise FourEyes(_("Another supervisor must send it back."))


# The steps that need a reason, with the refusal when none is given (the admin asks before its
# confirmation page with the same words: claims.supervision.admin).
REASON_MISSING = {
    "finding_dismiss": gettext_lazy("A dismissal needs a reason."),
    "finding_return": gettext_lazy("Sending a finding back needs a reason."),
}


def _lock(finding_id: int) -> Finding:
    return Finding.objects.select_for_update().get(pk=finding_id)


def _permitted(acting_user) -> None:
    if not acting_user.has_perm("supervision.confirm_finding"):
        raise InvalidFindingTransition(_("Only a supervisor may decide on fund-security findings."))


@FINDINGS.service
@transaction.atomic
def finding_dismiss(*, acting_user, finding: Finding, reason: str) -> Finding:
    """open → dismissed, with the reason (required)."""
    _permitted(acting_user)
    if not (reason or "").strip():
        raise InvalidFindingTransition(str(REASON_MISSING["finding_dismiss"]))
    finding = _lock(finding.pk)
    return transition(FINDINGS, finding, S.DISMISSED, acting_user=acting_user, reason=reason,
                      fields={"dismissed_by": acting_user, "dismissed_at": timezone.now(), "dismissal_reason": reason})


@FINDINGS.service
@transaction.atomic
def finding_confirm(*, acting_user, finding: Finding, reason: str = "") -> Finding:
    """open → confirmed, waiting for a second person."""
    _permitted(acting_user)
    finding = _lock(finding.pk)
    return transition(FINDINGS, finding, S.CONFIRMED_PENDING_SECOND, acting_user=acting_user, reason=reason,
                      fields={"confirmed_by": acting_user, "confirmed_at": timezone.now()})


@FINDINGS.service
@transaction.atomic
def finding_approve(*, acting_user, finding: Finding, reason: str = "") -> Finding:
    """confirmed (pending) → confirmed, by a second, different person (finding_guard)."""
    _permitted(acting_user)
    finding = _lock(finding.pk)
    return transition(FINDINGS, finding, S.CONFIRMED, acting_user=acting_user, reason=reason,
                      fields={"approved_by": acting_user, "approved_at": timezone.now()})


@FINDINGS.service
@transaction.atomic
def finding_return(*, acting_user, finding: Finding, reason: str) -> Finding:
    """confirmed (pending) → open: the second person does not agree (reason required; finding_guard)."""
    _permitted(acting_user)
    if not (reason or "").strip():
        raise InvalidFindingTransition(str(REASON_MISSING["finding_return"]))
    finding = _lock(finding.pk)
    return transition(FINDINGS, finding, S.OPEN, acting_user=acting_user, reason=reason,
                      fields={"confirmed_by": None, "confirmed_at": None})


# --------------------------------------------------------------------------- grey list


@transaction.atomic
def grey_list_add(*, acting_user, person, from_date: dt.date, to_date: dt.date, reason: str,
                  finding: Finding | None = None) -> GreyListEntry:
    """Suspend a person's direct settlement from `from_date` to `to_date` (both included)."""
    if not acting_user.has_perm("supervision.add_greylistentry"):
        raise InvalidGreyListEntry(_("Only a supervisor may put a person on the grey list."))
    if to_date < from_date:
        raise InvalidGreyListEntry(_("The end of the suspension is before its start."))
    if not (reason or "").strip():
        raise InvalidGreyListEntry(_("A grey-list entry needs a reason."))
    entry = GreyListEntry(person=person, from_date=from_date, to_date=to_date, reason=reason, finding=finding,
                          created_by=acting_user)
    entry._history_user = acting_user
    entry.save()
    return entry




@transaction.atomic
def grey_list_change_end(*, acting_user, entry: GreyListEntry, to_date: dt.date) -> GreyListEntry:
    """Lift a suspension early or extend it: only the end changes (kept in the entry's history)."""
    if not acting_user.has_perm("supervision.change_greylistentry"):
        raise InvalidGreyListEntry(_("Only a supervisor may change the grey list."))
    locked = GreyListEntry.objects.select_for_update().get(pk=entry.pk)
    if to_date < locked.from_date:
        raise InvalidGreyListEntry(_("The end of the suspension is before its start."))
    locked.to_date = to_date
    locked._history_user = acting_user
    locked.save(update_fields=["to_date"])
    return locked
