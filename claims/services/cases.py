"""Case services: receiving a case and one service per workflow transition (claims.workflow)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from enrollment.messages import error_text, localized
from enrollment.selectors import is_covered
from medins.benefits.errors import QuoteError
from medins.benefits.maternity import same_pregnancy_days
from medins.models import PolicyVersion
from medins.parsing import (
    ParseError,
    field_label,
    max_length,
    parse_bank_account,
    parse_bool,
    parse_date,
    parse_money,
    parse_text,
    today,
)
from medins.quoting import quote_or_error
from medins.selectors import PolicyCache, policy_in_force
from medins.workflow import transition

from ..approval import approval_digest
from ..calculation import quote_request
from ..errors import (
    ConcurrentChange,
    DuplicateInvoice,
    DuplicateMaternity,
    FourEyes,
    FundSecurityBlocked,
    GuardFailed,
    InvalidCase,
    MaterialsMissing,
    NotComputable,
    NotPermitted,
    Recalculated,
)
from ..ledger import keys as ledger_keys
from ..ledger.models import SourceKind
from ..ledger.selectors import accounts_of
from ..ledger.selectors import year_to_date as ledger_year_to_date
from ..ledger.services import Posting, ledger_post, ledger_reverse
from ..models import (
    Attachment,
    Benefit,
    Case,
    CaseMaterial,
    CaseTransition,
    CaseType,
    Invoice,
    InvoiceKind,
    MaterialsNotice,
)
from ..selectors import invoice_conflict, maternity_conflict, missing_materials, normalize_invoice_key
from ..workflow import CASES, EDITABLE, CaseState

S = CaseState
SYSTEM_USERNAME = "system"
MAX_NOTE = 2000  # a case note (TextField) read from outside


def system_user():
    """The account scheduled jobs act as (inactive: it cannot sign in)."""
    user, _created = get_user_model().objects.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False})
    return user


# --------------------------------------------------------------------------- locking and moving


def case_lock(case_id: int) -> Case:
    """Lock one case row (call inside a transaction) and return it fresh from the database."""
    rows = list(Case.objects.filter(pk=case_id).order_by("pk").select_for_update())
    if not rows:
        raise InvalidCase(gettext("case %(id)s does not exist") % {"id": case_id})
    return rows[0]


def _move(case: Case, to: str, *, acting_user, reason: str = "", fields: dict | None = None) -> Case:
    """The shared helper (medins.workflow.transition): the table edge must be the running
    service's, the edge's guard (case_guard) holds, the UPDATE ... WHERE state = <state read>
    makes a concurrent second clerk fail (also where SELECT ... FOR UPDATE is not available), and
    the CaseTransition is recorded. Then the history row with the author, and invoices freed.
    """
    frm = case.state
    changes = {"state_changed_at": timezone.now(), **(fields or {})}
    if to in (S.REJECTED, S.WITHDRAWN, S.MATERIALS_INCOMPLETE):
        changes["reason"] = reason
    transition(CASES, case, to, acting_user=acting_user, reason=reason or "", fields=changes)
    # Audit: a history row with the author, in the same transaction.
    case._history_user = acting_user
    case._change_reason = f"{frm} → {to}"
    case.save(update_fields=["state", *changes])
    if to in (S.REJECTED, S.WITHDRAWN):
        Invoice.objects.filter(case=case, claimed=True).update(claimed=False)
    return case


def _set(case: Case, changes: dict, name: str):
    """The value `name` will have after the move: the one being written, else the case's."""
    return changes[name] if name in changes else getattr(case, name)


def case_guard(case: Case, frm: str, to: str, changes: dict, acting_user) -> None:
    """The guard of each edge of the case workflow (DOMAIN §6), run by medins.workflow.transition
    for every move, whichever service, view or task asked for it:

    - into review, calculated or approved (from calculated): a reviewer is recorded, every
      material of the checklist is received, the person is covered on the service date;
    - calculated: the calculator and the amounts are recorded;
    - approved from calculated: four eyes — the approver is neither the reviewer nor the
      calculator — and the case carries its calculation;
    - materials incomplete: something is actually missing.

    (approved/payment_failed → calculated, the payee change, keeps the calculation approved
    before; its four eyes are case_approve's: the clerk who changed the payee cannot approve.)
    """
    review = to == S.UNDER_REVIEW or (frm, to) in ((S.UNDER_REVIEW, S.CALCULATED), (S.CALCULATED, S.APPROVED))
    if review:
        if _set(case, changes, "reviewed_by_id") is None and changes.get("reviewed_by") is None:
            raise GuardFailed(gettext("case %(number)s: no reviewer is recorded; start the review first") % {"number": case.number})
        missing = missing_materials(case)
        if missing:
            raise MaterialsMissing("材料不全，请先发一次性告知：" + "；".join(n for _c, n in missing))
        reason = _coverage_reason(case)
        if reason:
            raise GuardFailed(reason)
    if (frm, to) == (S.UNDER_REVIEW, S.CALCULATED) and (changes.get("calculated_by") is None or changes.get("payable_amount") is None):
        raise GuardFailed(gettext("case %(number)s: a calculation records its calculator and amounts") % {"number": case.number})
    if to == S.APPROVED and frm == S.CALCULATED:
        if acting_user is None or acting_user.pk in (case.reviewed_by_id, case.calculated_by_id):
            raise FourEyes(gettext("The approver may not be the clerk who reviewed or calculated this case."))
        if case.payable_amount is None or case.calculated_by_id is None:
            raise GuardFailed(gettext("case %(number)s: not calculated") % {"number": case.number})
    if to == S.MATERIALS_INCOMPLETE and not missing_materials(case):
        raise InvalidCase(gettext("no material is missing: start the review instead"))


def _coverage_reason(case: Case) -> str | None:
    if is_covered(case.person_id, case.service_from):
        return None
    return not_covered_reason(case.service_from)


# --------------------------------------------------------------------------- receiving


def _parsed(fn, *args, **kwargs):
    """A value read with medins.parsing; its refusal becomes InvalidCase naming the field (in the reader's language)."""
    try:
        return fn(*args, **kwargs)
    except ParseError as exc:
        raise InvalidCase(exc.localized(), field=exc.field) from None


def _money(value, field: str) -> Decimal:
    return _parsed(parse_money, value, field, default=Decimal("0.00"))


def _date(value, field: str, *, earliest: dt.date | None = None, latest: dt.date | None = None) -> dt.date:
    return _parsed(parse_date, value, field, earliest=earliest, latest=latest)


def _text(value, field: str, model_field: str | None = None, *, model=Case, required: bool = False) -> str:
    return _parsed(parse_text, value, field, max_length=max_length(model, model_field or field), required=required)


def service_date_window(region_id: int, *, versions: dict | None = None) -> tuple[dt.date | None, dt.date]:
    """The service dates a case of the region may have (issue 11 item 4 "dates within a sane window of
    the policy versions"): from the first policy version's start to a year after the last one's
    end (a case of a year whose policy is not loaded yet is received and refused at calculation
    naming the missing parameter), and never after today. `versions`: {region_id: (first start,
    last end or None)} read once for many cases (school batches)."""
    if versions is None:
        versions = policy_version_spans([region_id])
    latest = today()
    first, last = versions.get(region_id, (None, None))
    if last is not None:
        latest = min(latest, last + dt.timedelta(days=366))
    return first, latest


def policy_version_spans(region_ids) -> dict[int, tuple[dt.date, dt.date | None]]:
    """{region_id: (first effective_from, last effective_to or None when open-ended)} in one query."""
    spans: dict[int, tuple[dt.date, dt.date | None]] = {}
    for region_id, start, end in PolicyVersion.objects.filter(region_id__in=set(region_ids)).values_list(
            "region_id", "effective_from", "effective_to"):
        first, last = spans.get(region_id, (start, end))
        spans[region_id] = (min(first, start), None if last is None or end is None else max(last, end))
    return spans


def _invalid(field: str, reason: str) -> InvalidCase:
    """A refusal naming its field as the reader knows it ("报销类型: 已停用"); invoices[0].kind → 发票[0].kind
    (medins.parsing.field_label: the importers' headers and the shared medins.field_names)."""
    return InvalidCase(f"{field_label(field)}: {reason}", field=field)


def _unchangeable(case: Case) -> str:
    return gettext("cannot be changed while the case is %(state)s") % {"state": case.get_state_display()}


def _invoices(invoices, *, latest: dt.date | None = None) -> list[Invoice]:
    if not isinstance(invoices, (list, tuple)):
        raise _invalid("invoices", gettext("must be a list of invoices"))
    out, seen = [], set()
    for i, data in enumerate(invoices):
        if not isinstance(data, dict):
            raise _invalid(f"invoices[{i}]", gettext("must be an object"))
        issuer, number = normalize_invoice_key(_text(data.get("issuer"), f"invoices[{i}].issuer", "issuer", model=Invoice),
                                               _text(data.get("number"), f"invoices[{i}].number", "number", model=Invoice))
        if not issuer or not number:
            raise _invalid(f"invoices[{i}]", gettext("the issuer and the number are required"))
        if (issuer, number) in seen:
            raise DuplicateInvoice(issuer, number, None)
        seen.add((issuer, number))
        kind = _text(data.get("kind"), f"invoices[{i}].kind", "kind", model=Invoice) or InvoiceKind.ORIGINAL
        if kind not in InvoiceKind.values:
            raise _invalid(f"invoices[{i}].kind", gettext("must be one of %(choices)s") % {
                "choices": "、".join(str(label) for label in InvoiceKind.labels)})
        out.append(Invoice(issuer=issuer, number=number,
                           issued_on=_date(data.get("issued_on"), f"invoices[{i}].issued_on", latest=latest),
                           kind=kind, class_a=_money(data.get("class_a"), f"invoices[{i}].class_a"),
                           class_b=_money(data.get("class_b"), f"invoices[{i}].class_b"),
                           class_c=_money(data.get("class_c"), f"invoices[{i}].class_c")))
    return out


def invoice_key(invoice: Invoice) -> tuple[str, str]:
    """The order invoices are inserted in (the key of the unique claimed invoice), so that two
    transactions inserting the same invoices wait for each other instead of deadlocking."""
    return invoice.issuer, invoice.number


def _check_invoices_free(invoices: list[Invoice], *, exclude_case_id: int | None = None) -> None:
    for inv in invoices:
        earlier = invoice_conflict(inv.issuer, inv.number, exclude_case_id=exclude_case_id)
        if earlier is not None:
            raise DuplicateInvoice(inv.issuer, inv.number, earlier.number)


@dataclass
class Received:
    """A case checked and built in memory by case_prepare, not saved yet."""

    case: Case
    invoices: list[Invoice]
    received: set[str]
    attachments: list[dict] = field(default_factory=list)

    def materials(self, now) -> list[CaseMaterial]:
        """The checklist of the case type (prefetch `case_type.materials` when building many)."""
        return [CaseMaterial(case=self.case, code=m.code, name=m.name, received=m.code in self.received,
                             received_at=now if m.code in self.received else None)
                for m in self.case.case_type.materials.all()]

    def attachment_rows(self) -> list[Attachment]:
        return [Attachment(case=self.case, material_code=a.get("material", ""), filename=a["filename"],
                           content_type=a.get("content_type", ""), content=a["content"], size=len(a["content"]))
                for a in self.attachments]


def case_prepare(*, acting_user, case_type: CaseType, person, service_from, service_to=None, institution=None,
                 institution_name: str = "", institution_level: str = "", delivery: str = "",
                 third_party_paid=0, bank_account: str = "", invoices: Iterable[dict] = (),
                 materials_received: Iterable[str] = (), lost_invoice_promise: bool = False,
                 attachments: Iterable[dict] = (), school=None, batch=None, note: str = "",
                 policy_spans: dict | None = None) -> Received:
    """Every check of a new case that needs no database, and the unsaved case (shared by case_receive and batches).

    Values are read with medins.parsing (issue 10 item 4, issue 11 item 4): amounts, dates within
    the region's window (service_date_window; `policy_spans` from policy_version_spans when many
    cases are prepared), strings within the model's max_length, the yes/no flag, the bank account
    as digits. A case needs at least one invoice (issue 11 finding 10): a lost one is replaced by a
    sealed stub copy (kind stub_copy, DOMAIN §6), which is an invoice too.
    """
    if case_type.region_id != person.region_id:
        raise _invalid("case_type", gettext("is not a case type of the person's region"))
    earliest, latest = service_date_window(person.region_id, versions=policy_spans)
    service_from = _date(service_from, "service_from", earliest=earliest, latest=latest)
    service_to = _date(service_to, "service_to", earliest=earliest, latest=latest) if service_to else service_from
    if service_to < service_from:
        raise _invalid("service_to", gettext("is before the start of the service"))
    if not case_type.active:
        raise _invalid("case_type", gettext("is no longer in use"))
    institution_name = _text(institution_name, "institution_name")
    if institution is None and not institution_name:
        raise _invalid("institution", gettext("a designated institution or the name of the institution is required"))
    level = _text(institution_level, "institution_level") or (institution.level if institution is not None else "")
    if not level:
        raise _invalid("institution_level", gettext("is required for an institution that is not designated"))
    account = _parsed(parse_bank_account, bank_account) or (person.bank_account or "").replace(" ", "")
    if not account:
        raise _invalid("bank_account", gettext("is required"))
    invoice_rows = _invoices(invoices, latest=today())
    if not invoice_rows:
        raise InvalidCase(gettext("invoices: at least one invoice (or a sealed stub copy of a lost one) is required"),
                          field="invoices")
    case = Case(case_type=case_type, person=person, school=school, batch=batch, service_from=service_from,
                service_to=service_to, institution=institution, institution_name=institution_name,
                institution_level=level, delivery=_text(delivery, "delivery"),
                third_party_paid=_money(third_party_paid, "third_party_paid"),
                lost_invoice_promise=_parsed(parse_bool, lost_invoice_promise, "lost_invoice_promise"), bank_account=account,
                note=_parsed(parse_text, note, "note", max_length=MAX_NOTE, multiline=True), received_by=acting_user,
                state=S.RECEIVED, state_changed_at=timezone.now())
    return Received(case=case, invoices=invoice_rows, received=set(materials_received or ()), attachments=list(attachments))


def same_pregnancy_window(region: str, day: dt.date, *, policies: PolicyCache | None = None) -> int:
    """DOMAIN §4 maternity: maternity.same_pregnancy_days of the policy in force on the service date;
    missing, the case is refused naming the parameter (the check cannot be made)."""
    try:
        policy = policies.get(region=region, date=day) if policies is not None else policy_in_force(region=region, date=day)
        return same_pregnancy_days(policy)
    except QuoteError as exc:
        raise NotComputable(f"无法检查是否同一次生育：{localized(exc)}", detail=exc.as_dict()) from None


def _check_maternity_once(case: Case, *, exclude_case_id: int | None = None) -> None:
    """DOMAIN §4 maternity: not payable twice for the same birth/pregnancy (see selectors.same_pregnancy)."""
    if case.case_type.benefit != Benefit.MATERNITY:
        return
    days = same_pregnancy_window(case.case_type.region.code, case.service_from)
    earlier = maternity_conflict(case.person_id, case.service_from, case.service_to, days=days,
                                 exclude_case_id=exclude_case_id)
    if earlier is not None:
        raise DuplicateMaternity(Case(pk=earlier).number)


@transaction.atomic
def case_receive(*, acting_user, batch=None, **data) -> Case:
    """Register a case (state received) with its invoices and materials checklist.

    Guards (DOMAIN §6, §9, §4): an invoice already claimed by another live case refuses the case
    naming the earlier case; so does a second maternity case for the same birth; a person not
    covered on the service date gets the case rejected with that reason (recorded, so the school
    and the person can be told). Arguments: those of case_prepare.
    """
    prepared = case_prepare(acting_user=acting_user, batch=batch, **data)
    case, invoice_rows = prepared.case, prepared.invoices
    _check_invoices_free(invoice_rows)
    _check_maternity_once(case)
    case._history_user = acting_user
    case.save()
    for inv in invoice_rows:
        inv.case = case
    try:
        with transaction.atomic():  # in key order: concurrent receipts of the same invoices never deadlock
            Invoice.objects.bulk_create(sorted(invoice_rows, key=invoice_key))
    except IntegrityError:  # claimed concurrently by another case
        for inv in invoice_rows:
            earlier = invoice_conflict(inv.issuer, inv.number, exclude_case_id=case.pk)
            if earlier is not None:
                raise DuplicateInvoice(inv.issuer, inv.number, earlier.number) from None
        raise
    CaseMaterial.objects.bulk_create(prepared.materials(timezone.now()))
    Attachment.objects.bulk_create(prepared.attachment_rows())
    CaseTransition.objects.create(case=case, from_state="", to_state=S.RECEIVED, actor=acting_user,
                                  reason=received_reason(batch))
    reason = _coverage_reason(case)
    if reason:  # the rejection is case_reject's edge: that service takes it
        return case_reject(acting_user=acting_user, case=case, reason=reason)
    return case


def received_reason(batch) -> str:
    return f"批次 {batch.client_batch_id}" if batch else ""


def not_covered_reason(service_from: dt.date) -> str:
    return gettext("The insured person was not covered on the service date %(date)s.") % {"date": f"{service_from:%Y-%m-%d}"}


# --------------------------------------------------------------------------- checklist and details


@transaction.atomic
def case_material_mark(*, acting_user, case: Case, code: str, received: bool) -> CaseMaterial:
    case = case_lock(case.pk)
    if case.state not in EDITABLE:
        raise InvalidCase(gettext("case %(number)s is %(state)s: materials can no longer change") % {
            "number": case.number, "state": case.get_state_display()})
    material = CaseMaterial.objects.select_for_update().get(case=case, code=code)
    if material.received != received:
        material.received = received
        material.received_at = timezone.now() if received else None
        material._history_user = acting_user
        material.save(update_fields=["received", "received_at"])
    return material


@transaction.atomic
def case_materials_send(*, acting_user, case: Case, attachments: Iterable[dict], resubmit: bool = True,
                        note: str = "") -> Case:
    """The school sends the materials a notice asked for (issue 14 item 8): the scans are attached, their
    materials ticked and, when the case waits for them (materials_incomplete) and `resubmit`, it goes
    back to the agency (case_resubmit). Nothing is written when any file is refused by the caller."""
    case = case_lock(case.pk)
    if case.state not in EDITABLE:
        raise InvalidCase(gettext("case %(number)s is %(state)s: materials can no longer change") % {
            "number": case.number, "state": case.get_state_display()})
    rows = [Attachment(case=case, material_code=a["material"], filename=a["filename"],
                       content_type=a.get("content_type", ""), content=a["content"], size=len(a["content"]))
            for a in attachments]
    if not rows:
        raise InvalidCase(gettext("no file was sent"))
    Attachment.objects.bulk_create(rows)
    codes = sorted({r.material_code for r in rows if r.material_code})
    if case.state == S.MATERIALS_INCOMPLETE and resubmit:
        return case_resubmit(acting_user=acting_user, case=case, received=codes, reason=note)
    for material in CaseMaterial.objects.filter(case=case, code__in=codes, received=False):
        case_material_mark(acting_user=acting_user, case=case, code=material.code, received=True)
    return case


_DETAIL_FIELDS = {"institution_level", "delivery", "third_party_paid", "lost_invoice_promise", "bank_account", "note",
                  "institution_name", "service_to"}
_PAYMENT_FIELDS = {"note"}


def _read_details(changes: dict) -> dict:
    """The changed details read as case_prepare reads them (medins.parsing)."""
    readers = {
        "bank_account": lambda v: _parsed(parse_bank_account, v, required=True),
        "lost_invoice_promise": lambda v: _parsed(parse_bool, v, "lost_invoice_promise"),
        "third_party_paid": lambda v: _money(v, "third_party_paid"),
        "note": lambda v: _parsed(parse_text, v, "note", max_length=MAX_NOTE, multiline=True),
        "institution_name": lambda v: _text(v, "institution_name"),
        "institution_level": lambda v: _text(v, "institution_level"),
        "delivery": lambda v: _text(v, "delivery"),
    }
    return {k: readers[k](v) if k in readers else v for k, v in changes.items()}


@transaction.atomic
def case_details_update(*, acting_user, case: Case, **changes) -> Case:
    """Change a case's details while it is open. Once approved only the note changes here; a new
    bank account sends the case back for approval (case_payee_change)."""
    case = case_lock(case.pk)
    unknown = set(changes) - _DETAIL_FIELDS
    if unknown:
        raise _invalid(sorted(unknown)[0], gettext("cannot be changed"))
    changes = _read_details(changes)
    account = changes.get("bank_account")
    if case.state in (S.APPROVED, S.PAYMENT_FAILED) and account is not None and account.replace(" ", "") != case.bank_account:
        other = {k: v for k, v in changes.items() if k not in ("bank_account", "note")}
        if other:
            raise _invalid(sorted(other)[0], _unchangeable(case))
        return case_payee_change(acting_user=acting_user, case=case, bank_account=account, reason=changes.get("note", ""))
    allowed_fields = _DETAIL_FIELDS if case.state in EDITABLE else _PAYMENT_FIELDS if case.state in (S.APPROVED, S.PAYMENT_FAILED) else set()
    changed = [k for k, v in changes.items() if getattr(case, k) != v]
    refused = set(changed) - allowed_fields
    if refused:
        raise _invalid(sorted(refused)[0], _unchangeable(case))
    if not changed:
        return case
    for k in changed:
        setattr(case, k, changes[k])
    case._history_user = acting_user
    case.save(update_fields=changed)
    return case


def _invoices_editable(case: Case) -> None:
    if case.state not in EDITABLE:
        raise InvalidCase(gettext("case %(number)s is %(state)s: invoices can no longer change") % {
            "number": case.number, "state": case.get_state_display()}, field="invoices")


def _save_invoice(inv: Invoice, acting_user, **kwargs) -> None:
    """Save under the claimed-once constraint: an invoice claimed concurrently names the earlier case."""
    inv._history_user = acting_user
    try:
        with transaction.atomic():
            inv.save(**kwargs)
    except IntegrityError:
        earlier = invoice_conflict(inv.issuer, inv.number, exclude_case_id=inv.case_id)
        raise DuplicateInvoice(inv.issuer, inv.number, earlier.number if earlier else None) from None


@transaction.atomic
def case_invoice_add(*, acting_user, case: Case, invoice: dict) -> Invoice:
    """Add an invoice to an open case; one already claimed (by any live case) is refused naming that case."""
    case = case_lock(case.pk)
    _invoices_editable(case)
    (inv,) = _invoices([invoice])
    _check_invoices_free([inv], exclude_case_id=None)
    inv.case = case
    _save_invoice(inv, acting_user)
    return inv


INVOICE_FIELDS = ("issuer", "number", "issued_on", "kind", "class_a", "class_b", "class_c")


@transaction.atomic
def case_invoice_change(*, acting_user, case: Case, invoice_id: int, invoice: dict) -> Invoice:
    """Change an invoice of an open case (every field given, as for case_invoice_add)."""
    case = case_lock(case.pk)
    _invoices_editable(case)
    current = Invoice.objects.filter(pk=invoice_id, case=case).select_for_update().first()
    if current is None:
        raise InvalidCase(gettext("invoice %(id)s is not an invoice of case %(number)s") % {
            "id": invoice_id, "number": case.number}, field="invoices")
    (wanted,) = _invoices([invoice])
    if (wanted.issuer, wanted.number) != (current.issuer, current.number):
        _check_invoices_free([wanted], exclude_case_id=None)
    changed = [name for name in INVOICE_FIELDS if getattr(current, name) != getattr(wanted, name)]
    if changed:
        for name in changed:
            setattr(current, name, getattr(wanted, name))
        _save_invoice(current, acting_user, update_fields=changed)
    return current


@transaction.atomic
def case_invoice_remove(*, acting_user, case: Case, invoice_id: int) -> None:
    """Remove an invoice from an open case (its history keeps who removed it)."""
    case = case_lock(case.pk)
    _invoices_editable(case)
    current = Invoice.objects.filter(pk=invoice_id, case=case).select_for_update().first()
    if current is None:
        raise InvalidCase(gettext("invoice %(id)s is not an invoice of case %(number)s") % {
            "id": invoice_id, "number": case.number}, field="invoices")
    current._history_user = acting_user
    current.delete()


# --------------------------------------------------------------------------- transitions


@CASES.service
@transaction.atomic
def case_request_materials(*, acting_user, case: Case, note: str = "") -> MaterialsNotice:
    """received/resubmitted/under_review → materials_incomplete, with ONE notice listing every missing material."""
    case = case_lock(case.pk)
    CASES.check(case.state, S.MATERIALS_INCOMPLETE, obj=case)
    missing = missing_materials(case)
    if not missing:
        raise InvalidCase(gettext("no material is missing: start the review instead"))
    names = [name for _code, name in missing]
    _move(case, S.MATERIALS_INCOMPLETE, acting_user=acting_user, reason="缺少材料：" + "；".join(names))
    return MaterialsNotice.objects.create(case=case, issued_by=acting_user, note=note,
                                          missing=[{"code": c, "name": n} for c, n in missing])


@CASES.service
@transaction.atomic
def case_resubmit(*, acting_user, case: Case, received: Iterable[str] = (), reason: str = "") -> Case:
    """materials_incomplete → resubmitted, ticking the materials handed in."""
    case = case_lock(case.pk)
    CASES.check(case.state, S.RESUBMITTED, obj=case)
    codes = list(received)
    if codes:
        CaseMaterial.objects.filter(case=case, code__in=codes, received=False).update(received=True, received_at=timezone.now())
    return _move(case, S.RESUBMITTED, acting_user=acting_user, reason=reason)


@CASES.service
@transaction.atomic
def case_start_review(*, acting_user, case: Case) -> Case:
    """received/resubmitted → under_review; not covered → rejected; materials missing → refused."""
    case = case_lock(case.pk)
    CASES.check(case.state, S.UNDER_REVIEW, obj=case)
    reason = _coverage_reason(case)
    if reason:
        return case_reject(acting_user=acting_user, case=case, reason=reason)
    # materials complete: case_guard refuses with the list of what is missing
    return _move(case, S.UNDER_REVIEW, acting_user=acting_user, fields={"reviewed_by": acting_user})


def _quote(case: Case, *, ytd: dict, policies: PolicyCache | None) -> dict:
    """The case's calculation on these year-to-date figures: {"request", "adjustments", "quote", …}.
    Raises NotComputable saying why a benefit cannot be computed."""
    invoices = list(case.invoices.all())
    try:
        category = case.person.category_on(case.service_from)  # DOMAIN §1: the policy's age boundaries
    except QuoteError as exc:
        raise NotComputable(f"无法计算：{localized(exc)}", detail=exc.as_dict()) from None
    request, adjustments = quote_request(case, invoices=invoices, category=category, ytd=ytd)
    ok, body = quote_or_error(request, policies=policies)
    if not ok:
        error = body["error"]
        raise NotComputable(f"无法计算：{error_text(error)}", detail=error)
    return {"request": request, "adjustments": adjustments, "quote": body, "calculated_at": timezone.now().isoformat()}


def _calculation_fields(breakdown: dict) -> dict:
    body = breakdown["quote"]
    fund, catastrophic = Decimal(body["fund"]), Decimal(body["catastrophic"])
    return {"policy_version": body["policy_version"], "breakdown": breakdown, "fund_amount": fund,
            "catastrophic_amount": catastrophic, "payable_amount": fund + catastrophic}


def _year_to_date(case: Case) -> dict:
    return ledger_year_to_date(person_id=case.person_id, benefit=case.case_type.benefit, on=case.service_from)


@CASES.service
@transaction.atomic
def case_calculate(*, acting_user, case: Case, policies: PolicyCache | None = None) -> Case:
    """under_review → calculated: the quote of the policy in force on the service date, on the
    person's year-to-date figures from the yearly ledger, stored on the case.

    A benefit that cannot be computed (not implemented, paid by the insurer, a missing policy
    parameter, a person not eligible) leaves the case under review and says why. The figures are
    a proposal: approval computes again under the ledger lock (case_approve).
    """
    case = case_lock(case.pk)
    CASES.check(case.state, S.CALCULATED, obj=case)
    case = Case.objects.select_related("case_type", "person__region", "person__school").get(pk=case.pk)
    reason = _coverage_reason(case)
    if reason:
        return case_reject(acting_user=acting_user, case=case, reason=reason)
    breakdown = _quote(case, ytd=_year_to_date(case), policies=policies)
    return _move(case, S.CALCULATED, acting_user=acting_user,
                 fields={"calculated_by": acting_user, **_calculation_fields(breakdown)})


@CASES.service
@transaction.atomic
def case_return_for_review(*, acting_user, case: Case, reason: str = "") -> Case:
    """calculated → under_review (the approver sends it back); the calculation is cleared.

    Only that edge (issue 10 finding 2): a received case cannot be sent "back" to review, and the
    review's guard (reviewer, materials, cover) holds as for case_start_review.
    """
    case = case_lock(case.pk)
    return _move(case, S.UNDER_REVIEW, acting_user=acting_user, reason=reason, fields={
        "breakdown": None, "policy_version": "", "fund_amount": None, "catastrophic_amount": None, "payable_amount": None,
        "calculated_by": None})


@CASES.service
def case_approve(*, acting_user, case: Case, reason: str = "", policies: PolicyCache | None = None) -> Case:
    """calculated → approved, by a second clerk: never the reviewer nor the calculator (four eyes),
    and only by a role with the approve permission (medins.roles: the approver's alone).

    Approval commits the money, so it is where the yearly ledger is written (DOMAIN §3 "Yearly
    accumulators"): under the lock of the person's ledger accounts the case is computed again on
    the figures now in force. Same amounts: approved, and its ledger entry written in the same
    transaction. Other amounts (another case of the person was approved meanwhile): the case is
    recalculated — the new figures are saved, it stays calculated — and approval is refused with
    Recalculated, so the approver checks the new amounts before approving. Nothing is ever paid
    on stale year-to-date figures.
    """
    if not acting_user.has_perm("claims.approve_case"):
        raise NotPermitted(gettext("Only an approver may approve a case."))
    outcome = _approve(acting_user=acting_user, case_id=case.pk, reason=reason, policies=policies)
    if isinstance(outcome, Recalculated):
        raise outcome
    return outcome


@transaction.atomic
def _approve(*, acting_user, case_id: int, reason: str, policies: PolicyCache | None) -> Case | Recalculated:
    case = case_lock(case_id)
    CASES.check(case.state, S.APPROVED, obj=case)
    if acting_user.pk in (case.reviewed_by_id, case.calculated_by_id):
        raise FourEyes(gettext("The approver may not be the clerk who reviewed or calculated this case."))
    if acting_user.pk == _payee_changed_by(case):
        raise FourEyes(gettext("The approver may not be the clerk who changed the payee account."))
    case = Case.objects.select_related("case_type", "person__region", "person__school").get(pk=case.pk)
    _check_maternity_once(case, exclude_case_id=case.pk)
    benefit = case.case_type.benefit
    accounts = accounts_of(case.person_id, case.service_from.year, benefit, lock=True)
    breakdown = _quote(case, ytd=ledger_keys.year_to_date(benefit, accounts), policies=policies)
    fields = _calculation_fields(breakdown)
    if (fields["fund_amount"], fields["catastrophic_amount"], fields["policy_version"]) != (
            case.fund_amount, case.catastrophic_amount, case.policy_version):
        before = case.payable_amount
        breakdown["recalculated_at_approval"] = {"by": acting_user.get_username(), "payable_before": str(before)}
        if Case.objects.filter(pk=case.pk, state=S.CALCULATED).update(**fields) != 1:
            raise ConcurrentChange(gettext("case %(number)s was changed by someone else; reload it") % {"number": case.number})
        for name, value in fields.items():
            setattr(case, name, value)
        case._history_user = acting_user
        case._change_reason = "recalculated at approval: year-to-date figures changed"
        case.save(update_fields=list(fields))
        return Recalculated(
            gettext("The person's year-to-date figures changed since the calculation: the case was recalculated "
                    "(payable %(before)s → %(after)s). Check it and approve again.")
            % {"before": before, "after": case.payable_amount})
    # DOMAIN §9: the block rules of fund security on what is about to be paid (issue 15 item 2)
    from ..supervision.blocks import case_refusal

    refusal = case_refusal(case, fund=case.fund_amount or 0, policies=policies or PolicyCache())
    if refusal:
        raise FundSecurityBlocked(refusal)
    posting = Posting(person_id=case.person_id, service_date=case.service_from, benefit=benefit,
                      source_kind=SourceKind.CASE, source_id=case.pk, figures=ledger_keys.effect(benefit, breakdown["quote"]))
    ledger_post(acting_user=acting_user, postings=[posting],
                read=accounts.read)
    digest = approval_digest(case_id=case.pk, amount=case.payable_amount, payee=case.person.name,
                             account=case.bank_account)
    return _move(case, S.APPROVED, acting_user=acting_user, reason=reason,
                 fields={"approved_by": acting_user, "breakdown": breakdown, "approval_digest": digest})


def _payee_changed_by(case: Case) -> int | None:
    """Who last sent the case back for approval by changing its payee (that clerk may not approve it)."""
    last = (CaseTransition.objects.filter(case=case, to_state=S.CALCULATED)
            .order_by("-at", "-pk").values_list("from_state", "actor_id").first())
    if last and last[0] in (S.APPROVED, S.PAYMENT_FAILED):
        return last[1]
    return None


def _payee_change(case: Case, *, acting_user, bank_account: str, reason: str = "") -> Case:
    """approved/payment_failed → calculated with the new account: the money is no longer committed
    (its ledger entries are reversed) until a second approver approves the case again."""
    account = (bank_account or "").replace(" ", "")
    if not account:
        raise _invalid("bank_account", gettext("is required"))
    ledger_reverse(acting_user=acting_user, source_kind=SourceKind.CASE, source_id=case.pk, note="payee changed")
    note = (reason or "").strip() or gettext("The payee account changed after approval: approve again.")
    return _move(case, S.CALCULATED, acting_user=acting_user, reason=note,
                 fields={"bank_account": account, "approved_by": None, "approval_digest": ""})


@CASES.service
@transaction.atomic
def case_payee_change(*, acting_user, case: Case, bank_account: str, reason: str = "") -> Case:
    """Change the bank account of an approved (or failed-payment) case: an audited change that
    returns the case for approval by a second approver (issue #11 item 2)."""
    case = case_lock(case.pk)
    CASES.check(case.state, S.CALCULATED, obj=case)
    return _payee_change(case, acting_user=acting_user, bank_account=bank_account, reason=reason)


@CASES.service
@transaction.atomic
def case_reject(*, acting_user, case: Case, reason: str) -> Case:
    if not (reason or "").strip():
        raise _invalid("reason", gettext("a rejection needs a reason"))
    case = case_lock(case.pk)
    return _move(case, S.REJECTED, acting_user=acting_user, reason=reason.strip())


@CASES.service
@transaction.atomic
def case_withdraw(*, acting_user, case: Case, reason: str = "") -> Case:
    case = case_lock(case.pk)
    return _move(case, S.WITHDRAWN, acting_user=acting_user, reason=(reason or "").strip() or "申请人撤回")


@CASES.service
@transaction.atomic
def case_payment_reorder(*, acting_user, case: Case, bank_account: str | None = None, reason: str = "") -> Case:
    """payment_failed → approved: the next nightly run orders it again. With a different bank
    account the case goes back for approval instead (case_payee_change)."""
    case = case_lock(case.pk)
    CASES.check(case.state, S.APPROVED, obj=case)
    if bank_account:
        bank_account = _parsed(parse_bank_account, bank_account, required=True)
    if bank_account and bank_account != case.bank_account:  # a new payee account: approve again
        return case_payee_change(acting_user=acting_user, case=case, bank_account=bank_account, reason=reason)
    return _move(case, S.APPROVED, acting_user=acting_user, reason=reason or gettext("Pay again"))
