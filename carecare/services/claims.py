"""Monthly care claim services (DOMAIN.md §7 "Care homes bill monthly"): one per transition of
``carecare.workflow.CARE_CLAIMS``, keyword-only, ``acting_user``, one transaction each, the claim
row locked.

- ``care_claim_receive`` — a home's claim for a month (API or a confirmed upload). Idempotent
  per home and month: the **same content** sent again (same residents, days and amounts in any
  order: ``content_digest``) changes nothing and returns the claim as it stands, whatever its
  state. **Decision** (the issue leaves it open): different content for a month whose claim is
  still ``received`` (not yet checked) is a *corrected resend*: the lines are replaced, checked
  and computed again, and the resend is recorded (received → received). After ``rejected`` the
  home may send again (rejected → received). Once ``checked`` or later, different content is
  refused (``ClaimConflict``): the clerk rejects the claim first.
- ``care_claim_check`` — received → checked by a clerk: the days are checked again on the facts
  of that moment (a death or an inpatient case recorded since) and computed again.
- ``care_claim_approve`` — checked → approved by a second clerk (four eyes: neither the clerk
  who checked it nor the one who received it). Approval commits the money, so it writes the
  yearly ledger (benefit long_term_care, source care_claim), like ``claims.services.cases.
  case_approve``: the residents' ledger accounts are locked, the claim is checked and computed
  again under the lock, and only when every line still gives the stored figures are the entries
  posted (ledger_post re-checks the accounts) and the claim approved. Other figures: the new ones
  are saved, the claim stays checked and approval is refused (``Recalculated``).
  Then the payment order is made at once (``care_claim_order_payment``, its own transaction): a
  home without a bank account on record stays approved with a clerk-visible reason, and the
  order can be made again from the claim's page.
- ``care_claim_order_payment`` — approved → payment ordered: ``claims.services.payments.
  payment_order_for_institution`` to the home for the claim's fund (idempotent per payable).
- ``care_claim_reject`` — received or checked → rejected with a reason.

A care home's operator (settlement.InstitutionOperator) sends claims for its own home only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.ledger.keys import entry_figures
from claims.ledger.models import SourceKind
from claims.ledger.services import Posting, ledger_post, ledger_read
from medins.bulk import copy_text
from medins.selectors import PolicyCache
from medins.workflow import transition

from ..claim_checks import (
    ZERO,
    LineResult,
    ResidentIn,
    claim_digest,
    claim_parse,
    evaluate,
    residents_of_lines,
    rows_to_residents,
)
from ..errors import CareError, ClaimConflict, FourEyes, GuardFailed, NotPermitted, Recalculated
from ..models import CareClaim, CareClaimLine, CareClaimState, ClaimSource
from ..selectors import acts_for_home, claim_facts, is_care_home
from ..workflow import CARE_CLAIMS

C = CareClaimState
log = logging.getLogger(__name__)

RECEIVE = "carecare.add_careclaim"
CHECK = "carecare.change_careclaim"
APPROVE = "carecare.approve_careclaim"
BENEFIT = "long_term_care"
SOURCE_KIND = SourceKind.CARE_CLAIM  # the ledger entries' source and the payable's kind (payments: "HL" + id)


def _need(user, perm: str, message: str) -> None:
    if user is None or not user.has_perm(perm):
        raise NotPermitted(message)


def claim_lock(pk: int) -> CareClaim:
    return CareClaim.objects.select_for_update().select_related("care_home__region").get(pk=pk)


# ------------------------------------------------------------------------------------ computing


def claim_compute(*, care_home, month: dt.date, residents: list[ResidentIn],
                  policies: PolicyCache | None = None) -> list[LineResult]:
    """Check every billed day and compute every resident's shares: the facts read set-based
    (selectors.claim_facts), then the pure checks and the engine (claim_checks.evaluate)."""
    policies = policies or PolicyCache()
    region = care_home.region.code
    facts = claim_facts(id_numbers=[r.id_number for r in residents], year=month.year, month=month.month)

    def policy_for(day):
        try:
            return policies.get(region=region, date=day)
        except Exception as exc:  # a QuoteError: the region has no policy for the day
            raise GuardFailed(str(exc)) from None

    try:
        return evaluate(residents, home_id=care_home.pk, facts_by_id=facts, policy_for=policy_for)
    except CareError:
        raise
    except Exception as exc:
        from medins.benefits.errors import QuoteError

        if isinstance(exc, QuoteError):
            raise GuardFailed(str(exc)) from None
        raise


def _totals(results: list[LineResult]) -> dict:
    out = {"residents": len(results), "days_billed": 0, "days_refused": 0, "total": ZERO, "fund": ZERO,
           "personal": ZERO, "refused_amount": ZERO}
    for r in results:
        out["days_billed"] += r.days_billed
        out["days_refused"] += r.days_refused
        for name in ("total", "fund", "personal", "refused_amount"):
            out[name] += getattr(r, name)
    versions = sorted({g["policy_version"] for r in results for g in r.groups})
    out["policy_version"] = ",".join(versions)[:40]
    return out


_LINE_FIELDS = ("person_id", "days", "groups", "line_refusal", "days_billed", "days_paid", "days_refused", "total",
                "fund", "personal", "refused_amount")


def _line(claim_id: int, r: LineResult) -> CareClaimLine:
    return CareClaimLine(claim_id=claim_id, id_number=r.id_number, **{f: getattr(r, f) for f in _LINE_FIELDS})


def _write_lines(claim: CareClaim, results: list[LineResult]) -> None:
    """Replace the claim's lines: one DELETE and one COPY on PostgreSQL (the lines are what the
    checks derived from the claim's days, rewritten whole on every check), bulk_create elsewhere."""
    CareClaimLine.objects.filter(claim_id=claim.pk).delete()
    if connection.vendor != "postgresql":
        CareClaimLine.objects.bulk_create([_line(claim.pk, r) for r in results], batch_size=1000)
        return
    columns = ("claim_id", "id_number", *(CareClaimLine._meta.get_field(f).column for f in _LINE_FIELDS))
    out = []
    for r in results:
        values = [str(claim.pk), copy_text(r.id_number), "\\N" if r.person_id is None else str(r.person_id),
                  copy_text(json.dumps(r.days, separators=(",", ":"))), copy_text(json.dumps(r.groups, separators=(",", ":"))),
                  copy_text(r.line_refusal), str(r.days_billed), str(r.days_paid), str(r.days_refused), str(r.total),
                  str(r.fund), str(r.personal), str(r.refused_amount)]
        out.append("\t".join(values) + "\n")
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {CareClaimLine._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write("".join(out))


_update_lines = _write_lines  # a check again rewrites the lines whole (same residents and days)


# ------------------------------------------------------------------------------------ the guard


def care_claim_guard(claim: CareClaim, frm: str, to: str, changes: dict, acting_user) -> None:
    """Each edge's condition, checked by medins.workflow.transition whoever calls: checked names its
    clerk; approved is by another clerk than the one who checked and the one who received it
    (four eyes); rejected gives a reason."""
    def value(name):
        return changes.get(name, getattr(claim, name))

    if to == C.CHECKED and value("checked_by_id") is None:
        raise GuardFailed(_("A checked claim names the clerk who checked it."))
    if to == C.APPROVED and (acting_user is None or acting_user.pk in {claim.checked_by_id, claim.received_by_id}):
        raise FourEyes(_("The approver must be another clerk than the one who checked or received the claim (four eyes)."))
    if to == C.REJECTED and not (value("rejection_reason") or "").strip():
        raise GuardFailed(_("A rejection gives its reason."))


# ------------------------------------------------------------------------------------ services


@CARE_CLAIMS.service
@transaction.atomic
def care_claim_receive(*, acting_user, care_home, month: dt.date, residents, source: str = ClaimSource.API,
                       policies: PolicyCache | None = None) -> tuple[CareClaim, str]:
    """Receive a home's claim for a month: (claim, outcome) with outcome ``created``,
    ``unchanged`` (the same content again: nothing changed) or ``replaced`` (a corrected resend
    before checking, or a resend after rejection). `residents` as claim_checks.claim_parse reads
    them; InvalidClaim (nothing written) when the claim cannot be read."""
    _need(acting_user, RECEIVE, _("You may not send care claims."))
    if care_home is None or not is_care_home(care_home):
        raise CareError(_("%(home)s is not a designated care home.") % {"home": care_home}, field="care_home")
    if not acts_for_home(acting_user, care_home.pk):
        raise NotPermitted(_("A care home sends claims for its own residents only."))
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise CareError(_("A month that has not begun cannot be claimed."), field="month")
    parsed = claim_parse(month=month, residents=residents)
    digest = claim_digest(parsed)
    claim = (CareClaim.objects.select_for_update().select_related("care_home__region")
             .filter(care_home_id=care_home.pk, month=month).first())
    if claim is not None and claim.content_digest == digest:
        return claim, "unchanged"
    if claim is not None and claim.state not in (C.RECEIVED, C.REJECTED):
        raise ClaimConflict(_("The claim for %(month)s is already %(state)s: a different claim is accepted only after "
                              "the agency rejects this one.") % {"month": f"{month:%Y-%m}",
                                                                  "state": claim.get_state_display()})
    results = claim_compute(care_home=care_home, month=month, residents=parsed, policies=policies)
    totals = _totals(results)
    if claim is None:
        CARE_CLAIMS.check("", C.RECEIVED)
        try:
            with transaction.atomic():
                claim = CareClaim.objects.create(care_home=care_home, month=month, source=source, content_digest=digest,
                                                 received_by=acting_user, state_changed_at=timezone.now(), **totals)
        except IntegrityError:  # the same home and month received concurrently: send again
            raise ClaimConflict(_("A claim for this month is being received at this moment; send it again.")) from None
        (row,) = CARE_CLAIMS.record_rows([claim.pk], frm="", to=C.RECEIVED, acting_user=acting_user)
        row.save()
        _write_lines(claim, results)
        return claim, "created"
    reason = (_("Corrected claim sent again before checking.") if claim.state == C.RECEIVED
              else _("Claim sent again after rejection."))
    transition(CARE_CLAIMS, claim, C.RECEIVED, acting_user=acting_user, reason=reason, fields={
        **totals, "content_digest": digest, "source": source, "sends": claim.sends + 1, "received_by_id": acting_user.pk,
        "checked_by_id": None, "rejection_reason": "", "state_changed_at": timezone.now()})
    _write_lines(claim, results)
    return claim, "replaced"


def _recompute(claim: CareClaim, policies: PolicyCache | None) -> list[LineResult]:
    lines = list(claim.lines.order_by("pk"))
    return claim_compute(care_home=claim.care_home, month=claim.month, residents=residents_of_lines(lines),
                         policies=policies)


@CARE_CLAIMS.service
@transaction.atomic
def care_claim_check(*, acting_user, claim: CareClaim, policies: PolicyCache | None = None) -> CareClaim:
    """received → checked: every day checked again on today's facts and computed again."""
    _need(acting_user, CHECK, _("You may not check care claims."))
    claim = claim_lock(claim.pk)
    CARE_CLAIMS.check(claim.state, C.CHECKED, obj=claim)
    results = _recompute(claim, policies)
    _update_lines(claim, results)
    return transition(CARE_CLAIMS, claim, C.CHECKED, acting_user=acting_user, fields={
        **_totals(results), "checked_by_id": acting_user.pk, "state_changed_at": timezone.now()})


@CARE_CLAIMS.service
def care_claim_approve(*, acting_user, claim: CareClaim, reason: str = "",
                       policies: PolicyCache | None = None) -> CareClaim:
    """checked → approved by a second clerk, the ledger written under its lock (module docstring),
    then the payment order to the home. Raises Recalculated (the new figures saved) when the
    claim's facts or figures changed since it was checked."""
    _need(acting_user, APPROVE, _("Only an approver may approve care claims."))
    outcome = _approve(acting_user=acting_user, claim_id=claim.pk, reason=reason, policies=policies)
    if isinstance(outcome, Recalculated):
        raise outcome
    try:
        return care_claim_order_payment(acting_user=acting_user, claim=outcome)
    except CareError as exc:
        log.warning("care claim %s approved, payment not ordered: %s", outcome.number, exc)
        outcome.payment_refusal = str(exc)
        return outcome


@transaction.atomic
def _approve(*, acting_user, claim_id: int, reason: str, policies) -> CareClaim | Recalculated:
    claim = claim_lock(claim_id)
    CARE_CLAIMS.check(claim.state, C.APPROVED, obj=claim)
    if acting_user.pk in (claim.checked_by_id, claim.received_by_id):  # the guard's rule, before any work
        raise FourEyes(_("The approver must be another clerk than the one who checked or received the claim (four eyes)."))
    lines = list(claim.lines.order_by("pk"))
    person_ids = sorted({line.person_id for line in lines if line.person_id is not None})
    keys = [(pid, claim.month.year, BENEFIT, "") for pid in person_ids]
    read = ledger_read(keys, lock=True)  # the residents' accounts, locked in key order
    results = claim_compute(care_home=claim.care_home, month=claim.month, residents=residents_of_lines(lines),
                            policies=policies)
    stored = {line.id_number: (line.person_id, line.days_paid, line.days_refused, line.fund, line.personal,
                               line.refused_amount) for line in lines}
    if any(stored[r.id_number] != r.figures() for r in results):
        before = claim.fund
        _update_lines(claim, results)
        totals = _totals(results)
        if CareClaim.objects.filter(pk=claim.pk, state=C.CHECKED).update(**totals) != 1:
            raise GuardFailed(_("The claim was changed by someone else; reload it."))
        return Recalculated(_("The claim's days or amounts changed since it was checked (a death, an inpatient stay or "
                              "cover recorded since): computed again, fund %(before)s → %(after)s; check the lines "
                              "and approve again.") % {"before": before, "after": totals["fund"]})
    postings = [Posting(person_id=r.person_id, service_date=r.first_paid, benefit=BENEFIT, source_kind=SOURCE_KIND,
                        source_id=claim.pk, figures=entry_figures(BENEFIT, fund=r.fund, eligible=r.eligible))
                for r in results if r.person_id is not None and r.first_paid is not None and (r.fund or r.eligible)]
    ledger_post(acting_user=acting_user, postings=postings, read=read)
    return transition(CARE_CLAIMS, claim, C.APPROVED, acting_user=acting_user, reason=reason, fields={
        "approved_by_id": acting_user.pk, "state_changed_at": timezone.now()})


@CARE_CLAIMS.service
@transaction.atomic
def care_claim_order_payment(*, acting_user, claim: CareClaim) -> CareClaim:
    """approved → payment ordered: a payment order of the claim's fund to the home's bank account
    through the payment path of cases (joins the next daily bank payment file)."""
    from claims.services.payments import payment_order_for_institution

    if not (acting_user.has_perm(APPROVE) or acting_user.has_perm("claims.change_paymentorder")):
        raise NotPermitted(_("You may not order payments of care claims."))
    claim = claim_lock(claim.pk)
    CARE_CLAIMS.check(claim.state, C.PAYMENT_ORDERED, obj=claim)
    if claim.fund <= Decimal("0"):
        raise GuardFailed(_("The fund pays nothing on this claim: there is nothing to order."))
    try:
        order = payment_order_for_institution(acting_user=acting_user, institution=claim.care_home, amount=claim.fund,
                                              source_kind=SOURCE_KIND, source_id=claim.pk)
    except CareError:
        raise
    except Exception as exc:  # claims' PaymentRefused (an InvalidCase): no bank account on record, say
        from claims.errors import CaseError

        if isinstance(exc, CaseError):
            raise GuardFailed(str(exc)) from None
        raise
    return transition(CARE_CLAIMS, claim, C.PAYMENT_ORDERED, acting_user=acting_user, fields={
        "payment_order_id": order.pk, "state_changed_at": timezone.now()})


@CARE_CLAIMS.service
@transaction.atomic
def care_claim_reject(*, acting_user, claim: CareClaim, reason: str) -> CareClaim:
    """received or checked → rejected, with its reason (the home sees it and may send again)."""
    _need(acting_user, CHECK, _("You may not reject care claims."))
    claim = claim_lock(claim.pk)
    reason = (reason or "").strip()
    return transition(CARE_CLAIMS, claim, C.REJECTED, acting_user=acting_user, reason=reason,
                      fields={"rejection_reason": reason, "state_changed_at": timezone.now()})


# ------------------------------------------------------------------------------------ file upload (admin)

UPLOAD_MAX_ROWS = 20_000  # 200 residents × 31 days and room to spare


def _summary(claim: CareClaim, outcome: str) -> dict:
    """What the upload page shows of a received claim: totals and each resident's refused days."""
    from ..claim_checks import reason_text

    lines = []
    for line in claim.lines.select_related("person").order_by("pk"):
        refused: dict[str, list[str]] = {}
        for d in line.days:
            if d.get("refused"):
                refused.setdefault(d["refused"], []).append(d["date"][-2:])
        lines.append({"id_number": line.id_number[:6] + "********" + line.id_number[-4:],
                      "name": line.person.name if line.person else "", "days_paid": line.days_paid,
                      "days_refused": line.days_refused, "fund": str(line.fund), "personal": str(line.personal),
                      "refused": [{"reason": reason_text(code), "days": ", ".join(ds)} for code, ds in refused.items()]})
    return {"outcome": outcome, "claim": claim.pk if outcome != "preview" else None, "residents": claim.residents,
            "days": claim.days_billed, "days_refused": claim.days_refused, "total": str(claim.total),
            "fund": str(claim.fund), "personal": str(claim.personal), "refused_amount": str(claim.refused_amount),
            "lines": lines, "errors": []}


def _upload_allowed(acting_user, care_home) -> None:
    _need(acting_user, RECEIVE, _("You may not send care claims."))
    if not acts_for_home(acting_user, care_home.pk):
        raise NotPermitted(_("A care home sends claims for its own residents only."))


def _upload_rows(filename: str, content: bytes) -> list[dict]:
    from medins.parsing import FileError
    from medins.uploads import upload_rows

    from ..errors import InvalidClaim

    try:
        return upload_rows(filename, content, max_rows=UPLOAD_MAX_ROWS)
    except FileError as exc:
        raise InvalidClaim(exc.localized(), field="file") from None


def _upload_preview(*, acting_user, care_home, month: dt.date, rows: list[dict]) -> dict:
    """The claim received inside a rolled-back transaction: exactly what confirming will do."""
    from medins.uploads import dry_run

    from ..errors import InvalidClaim

    def receive():
        claim, outcome = care_claim_receive(acting_user=acting_user, care_home=care_home, month=month,
                                            residents=rows_to_residents(rows), source=ClaimSource.UPLOAD)
        return _summary(claim, "preview" if outcome != "unchanged" else outcome)

    try:
        preview = dry_run(receive)
    except InvalidClaim as exc:
        preview = {"outcome": "invalid", "errors": exc.errors or [{"row": "", "field": exc.field or "",
                                                                   "message": str(exc)}]}
    except CareError as exc:
        preview = {"outcome": "refused", "errors": [{"row": "", "field": exc.field or "", "message": str(exc)}]}
    preview["rows"] = len(rows)
    return preview


def care_claim_upload_check(*, acting_user, care_home, month: dt.date, filename: str, content: bytes):
    """Read a claim file (CSV/XLSX through medins.parsing, Chinese or English headers) and receive it
    inside a transaction that is rolled back: the preview shows exactly what confirming will do
    (each resident's refused days with the reason) and nothing but the upload record is written."""
    from ..models import CareClaimUpload

    _upload_allowed(acting_user, care_home)
    month = month.replace(day=1)
    rows = _upload_rows(filename, content)
    preview = _upload_preview(acting_user=acting_user, care_home=care_home, month=month, rows=rows)
    with transaction.atomic():
        return CareClaimUpload.objects.create(care_home=care_home, month=month, filename=filename[:200], rows=rows,
                                              preview=preview, uploaded_by=acting_user)


def care_claim_upload_store(*, acting_user, care_home, month: dt.date, filename: str, content: bytes):
    """A large file (issue #14 item 3): read and stored with its preview pending; the check job
    (care_claim_upload_recheck) writes it."""
    from medins.uploads import PENDING

    from ..models import CareClaimUpload

    _upload_allowed(acting_user, care_home)
    rows = _upload_rows(filename, content)
    with transaction.atomic():
        return CareClaimUpload.objects.create(care_home=care_home, month=month.replace(day=1), filename=filename[:200],
                                              rows=rows, preview={PENDING: True}, uploaded_by=acting_user)


def care_claim_upload_recheck(*, acting_user, upload, progress=None) -> dict:
    """The preview of a stored upload (its rows received in a rolled-back transaction); writes nothing."""
    from ..models import CareClaimUpload

    upload = CareClaimUpload.objects.select_related("care_home__region").get(pk=upload.pk)
    _upload_allowed(acting_user, upload.care_home)
    if progress is not None:
        progress(0, len(upload.rows))
    return _upload_preview(acting_user=acting_user, care_home=upload.care_home, month=upload.month, rows=upload.rows)


@transaction.atomic
def care_claim_upload_confirm(*, acting_user, upload, progress=None):
    """Receive a checked upload's stored rows (once: a second confirmation is refused; never before its check)."""
    from medins.uploads import UploadStatus, upload_pending

    from ..models import CareClaimUpload

    upload = CareClaimUpload.objects.select_for_update().select_related("care_home__region").get(pk=upload.pk)
    _need(acting_user, RECEIVE, _("You may not send care claims."))
    if upload.status != UploadStatus.CHECKED:
        raise CareError(_("This file is already imported."))
    if upload_pending(upload):
        raise CareError(_("This file is still being checked."))
    if progress is not None:
        progress(0, len(upload.rows))
    if upload.preview.get("errors"):
        raise CareError(_("The file has problems: correct it and upload it again."))
    claim, outcome = care_claim_receive(acting_user=acting_user, care_home=upload.care_home, month=upload.month,
                                        residents=rows_to_residents(upload.rows), source=ClaimSource.UPLOAD)
    upload.result = {**_summary(claim, outcome), "rows": len(upload.rows)}
    upload.status = UploadStatus.DONE
    upload.claim = claim
    upload.imported_at = timezone.now()
    upload.save(update_fields=["result", "status", "claim", "imported_at"])
    return upload


__all__ = ["care_claim_approve", "care_claim_upload_check", "care_claim_upload_confirm", "care_claim_upload_recheck",
           "care_claim_upload_store", "care_claim_check", "care_claim_guard", "care_claim_order_payment",
           "care_claim_receive", "care_claim_reject", "claim_compute"]
