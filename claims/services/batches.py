"""School batches (REST API and CSV/XLSX upload): idempotent on the client's batch id, one report row per row.

Set-based: rows are received in chunks of CHUNK_SIZE, each chunk with a fixed number of queries
(see _receive_chunk) and in its own savepoint. Every row is checked as case_receive checks one
case (the same case_prepare, the same guards), and a bad row is reported and skipped, so good rows
are kept when others fail. If a bulk insert still fails (an invoice claimed by a concurrent
request after the check), that chunk is received again row by row through case_receive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.idnumber import normalize
from enrollment.models import Person
from medins.bulk import insert_history, marks, qn
from medins.models import Institution, InstitutionLevel
from medins.parsing import (
    Column,
    FileError,
    ParseError,
    column_set,
    field_label,
    max_length,
    parse_text,
    read_records,
    rename_records,
)
from medins.selectors import PolicyCache

from ..errors import CaseError, DuplicateInvoice, DuplicateMaternity, FundSecurityBlocked
from ..models import Attachment, Batch, Benefit, Case, CaseMaterial, CaseTransition, CaseType, Invoice
from ..selectors import claimed_invoices, covered_pairs, maternity_conflicts, same_pregnancy
from ..workflow import CaseState
from .cases import (
    Received,
    case_prepare,
    case_receive,
    invoice_key,
    not_covered_reason,
    policy_version_spans,
    received_reason,
    same_pregnancy_window,
)

S = CaseState
CHUNK_SIZE = 500

# Columns of the CSV/XLSX file (one row = one case with one invoice): the API's field names or the
# Chinese headers of claims/samples/school_batch_sample.csv (issue 14 item 4).
FILE_COLUMNS = column_set(
    Column("row_id", "行号", ("序号",)),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码")),
    Column("name", "姓名"),
    Column("case_type", "报销类型", ("报销类型编码",)),
    Column("service_from", "就诊开始日期", ("就诊日期", "入院日期")),
    Column("service_to", "就诊结束日期", ("出院日期",)),
    Column("institution_code", "医疗机构编码", ("机构编码",)),
    Column("institution_name", "医疗机构名称", ("机构名称",)),
    Column("institution_level", "医院级别", ("机构级别",)),
    Column("delivery", "分娩方式"),
    Column("invoice_issuer", "开票单位"),
    Column("invoice_number", "发票号码", ("发票号",)),
    Column("invoice_date", "开票日期"),
    Column("class_a", "甲类费用", ("甲类",)),
    Column("class_b", "乙类费用", ("乙类",)),
    Column("class_c", "丙类费用", ("丙类", "自费费用")),
    Column("third_party_paid", "第三方已支付", ("第三方支付",)),
    Column("bank_account", "银行账号"),
    Column("materials", "材料", ("材料编码",)),
    Column("invoice_kind", "发票类型"),
    Column("lost_invoice_promise", "发票遗失承诺"),
)
COLUMNS = [c for c in FILE_COLUMNS if c not in ("invoice_kind", "lost_invoice_promise")]  # the usual file's columns
REQUIRED_COLUMNS = ("id_number", "case_type", "service_from", "invoice_issuer", "invoice_number", "invoice_date")
MAX_ATTACHMENT = 5 * 1024 * 1024
# What a bad row may raise: it becomes that row's error, never an exception past the batch (issue 10 item 4).
ROW_ERRORS = (CaseError, ParseError, ValueError, ArithmeticError, KeyError, TypeError, AttributeError)


class BatchFileError(Exception):
    """The uploaded file cannot be read at all (not one row is taken)."""


def rows_from_file(filename: str, content: bytes) -> list[dict]:
    """The rows of an uploaded batch file (medins.parsing.read_records: CSV in UTF-8/GB18030 or XLSX,
    at most UPLOAD_MAX_BYTES and UPLOAD_MAX_ROWS), each with its line number under "_line"."""
    try:
        _header, rows = read_records(filename, content, line_key="_line")
        return rename_records(rows, FILE_COLUMNS, REQUIRED_COLUMNS)  # English or Chinese headers
    except FileError as exc:
        raise BatchFileError(exc.message.localized()) from None


class _Lookups:
    """What the rows of one chunk need from the database, fetched once per chunk (bounded queries)."""

    def __init__(self, rows: list[dict], *, school):
        self.id_numbers = [normalize(row["id_number"]) if isinstance(row, dict) and type(row.get("id_number")) is str else ""
                           for row in rows]
        self.persons = {p.id_number: p for p in Person.objects.filter(school=school, id_number__in=set(self.id_numbers))}
        codes = {row["institution_code"].strip() for row in rows
                 if isinstance(row, dict) and type(row.get("institution_code")) is str} - {""}
        region_ids = {p.region_id for p in self.persons.values()}
        self.institutions = ({(i.region_id, i.code): i for i in Institution.objects.filter(code__in=codes, region_id__in=region_ids)}
                             if codes and region_ids else {})


def _row_text(row: dict, key: str, max_length: int | None) -> str:
    try:
        return parse_text(row.get(key), key, max_length=max_length, numbers=True)
    except ParseError as exc:
        raise CaseError(exc.localized(FILE_COLUMNS), field=key) from None


def _row_error(field: str, reason: str) -> CaseError:
    """A row's refusal naming its field as the reader knows it: "身份证号: 不是本校参保学生" for a
    Chinese reader (the school portal shows it), "id_number: …" in English. The batch file's own
    header first: "name" is the student's 姓名 here, another importer's 机构名称."""
    return CaseError(f"{field_label(field, FILE_COLUMNS)}: {reason}", field=field)


def _row_kwargs(row: dict, *, id_number: str, lookups: _Lookups, case_types: dict, policy_spans: dict | None = None) -> dict:
    """A row's values for case_prepare. Strings are read with medins.parsing (an object where a string
    is expected, a NUL byte or an over-long value is this row's error); amounts, dates, the bank
    account and lost_invoice_promise are passed on as sent and read by case_prepare."""
    _row_text(row, "id_number", 18)
    person = lookups.persons.get(id_number)
    if person is None:
        # The same answer whether the person is unknown or another school's: nothing leaks.
        raise _row_error("id_number", _("is not an insured student of this school"))
    name = _row_text(row, "name", max_length(Person, "name"))
    if name and name != person.name:
        raise _row_error("name", _("does not match the ID number"))
    case_type = case_types.get((person.region_id, _row_text(row, "case_type", max_length(CaseType, "code"))))
    if case_type is None:
        raise _row_error("case_type", _("is not a known case type"))
    institution = None
    code = _row_text(row, "institution_code", max_length(Institution, "code"))
    if code:
        institution = lookups.institutions.get((person.region_id, code))
        if institution is None:
            raise _row_error("institution_code", _("is not a designated institution of the region"))
    level = _row_text(row, "institution_level", max_length(Case, "institution_level"))
    if level and level not in InstitutionLevel.values:
        raise _row_error("institution_level", _("is not a known hospital level"))
    if "invoices" in row:
        invoices = row["invoices"]
    else:
        invoices = [{"issuer": row.get("invoice_issuer"), "number": row.get("invoice_number"), "issued_on": row.get("invoice_date"),
                     "class_a": row.get("class_a"), "class_b": row.get("class_b"), "class_c": row.get("class_c"),
                     "kind": row.get("invoice_kind") or None}]
    materials = row.get("materials") or []
    if isinstance(materials, str):
        materials = [m.strip() for m in materials.replace("；", ";").split(";") if m.strip()]
    if not isinstance(materials, list) or not all(type(m) is str and len(m) <= 60 for m in materials):
        raise _row_error("materials", _("must be a list of material codes"))
    attachments = []
    raw_attachments = row.get("attachments") or []
    if not isinstance(raw_attachments, list):
        raise _row_error("attachments", _("must be a list of attachments"))
    for i, a in enumerate(raw_attachments):
        if not isinstance(a, dict) or type(a.get("content_base64", "")) is not str:
            raise _row_error(f"attachments[{i}]", _("must be an object with content_base64"))
        try:
            content = base64.b64decode(a.get("content_base64", ""), validate=True)
        except (binascii.Error, ValueError):
            raise _row_error(f"attachments[{i}]", _("content_base64 is not base64")) from None
        if len(content) > MAX_ATTACHMENT:
            raise _row_error(f"attachments[{i}]", _("is larger than %(mb)s MB") % {"mb": MAX_ATTACHMENT // (1024 * 1024)})
        attachments.append({"material": _row_text(a, "material", 60), "content": content,
                            "filename": (_row_text(a, "filename", None) or f"attachment-{i + 1}")[:200],
                            "content_type": _row_text(a, "content_type", 100)})
    return {
        "case_type": case_type, "person": person, "service_from": row.get("service_from"),
        "service_to": row.get("service_to") or None, "institution": institution,
        "institution_name": row.get("institution_name") or "", "institution_level": level,
        "delivery": row.get("delivery") or "", "third_party_paid": row.get("third_party_paid"),
        "bank_account": row.get("bank_account") or "", "invoices": invoices, "materials_received": materials,
        "lost_invoice_promise": row.get("lost_invoice_promise"), "attachments": attachments,
        "policy_spans": policy_spans,
    }


def batch_submit(*, acting_user, school, client_batch_id: str, rows: Iterable[dict], source: str,
                 filename: str = "") -> tuple[Batch, bool]:
    """Create the batch and its cases; (batch, created). The same client batch id returns the first batch unchanged."""
    client_batch_id = (client_batch_id or "").strip()
    if not client_batch_id:
        raise _row_error("batch_id", _("is required (or send an Idempotency-Key header)"))
    existing = Batch.objects.filter(school=school, client_batch_id=client_batch_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            batch = _submit(acting_user=acting_user, school=school, client_batch_id=client_batch_id, rows=list(rows),
                            source=source, filename=filename)
    except IntegrityError:  # the same batch id sent concurrently: the other request won
        existing = Batch.objects.filter(school=school, client_batch_id=client_batch_id).first()
        if existing is None:
            raise
        return existing, False
    return batch, True


def _case_pk(number: str) -> int | None:
    digits = (number or "")[2:]
    return int(digits) if digits.isdigit() else None


def _for_school(exc: Exception, school, owners: dict[int, int | None] | None = None) -> Exception:
    """A refusal as the school may read it: an earlier case of another school (or entered by the
    agency) is not named (issue #11, finding 13). `owners`: case id → school id, when known."""
    earlier = getattr(exc, "earlier_case", None)
    if not earlier or not isinstance(exc, (DuplicateInvoice, DuplicateMaternity)):
        return exc
    pk = _case_pk(earlier)
    owner = owners[pk] if owners is not None and pk in owners else Case.objects.filter(pk=pk).values_list(
        "school_id", flat=True).first()
    if owner == school.pk:
        return exc
    if isinstance(exc, DuplicateInvoice):
        return DuplicateInvoice(exc.issuer, exc.number, earlier, name_case=False)
    return DuplicateMaternity(earlier, name_case=False)


def _rejected(entry: dict, exc: Exception) -> dict:
    if isinstance(exc, CaseError):
        entry.update(status="rejected", errors=[str(exc)], field=exc.field)
        if getattr(exc, "earlier_case", None):
            entry["earlier_case"] = exc.earlier_case
    else:  # a row of the wrong shape: a message the school reads, not Python's (issue 14 item 4)
        entry.update(status="rejected", errors=[exc.localized(FILE_COLUMNS) if isinstance(exc, ParseError)
                                                else _("this row cannot be read: a value has the wrong form")])
    return entry


def _accepted(entry: dict, case) -> dict:
    entry.update(status="accepted", case=case.number, case_id=case.pk, state=case.state)
    if case.state == CaseState.REJECTED:
        entry["reason"] = case.reason
    return entry


def _submit(*, acting_user, school, client_batch_id, rows, source, filename) -> Batch:
    batch = Batch.objects.create(school=school, client_batch_id=client_batch_id, source=source, filename=filename[:200],
                                 submitted_by=acting_user)
    case_types = {(t.region_id, t.code): t for t in CaseType.objects.filter(active=True).prefetch_related("materials")}
    spans = policy_version_spans({region_id for region_id, _code in case_types})  # the service-date window, read once
    report = []
    for start in range(0, len(rows), CHUNK_SIZE):
        chunk = list(enumerate(rows[start:start + CHUNK_SIZE], start + 1))
        try:
            with transaction.atomic():
                entries = _receive_chunk(chunk, acting_user=acting_user, school=school, batch=batch, case_types=case_types, spans=spans)
        except IntegrityError:
            # An invoice of the chunk was claimed by a concurrent request after it was checked:
            # this chunk again one row at a time, so that only the row concerned is refused.
            entries = _receive_rows(chunk, acting_user=acting_user, school=school, batch=batch, case_types=case_types, spans=spans)
        report.extend(entries)
    accepted = sum(1 for entry in report if entry["status"] == "accepted")
    batch.total_rows = len(report)
    batch.accepted_rows = accepted
    batch.rejected_rows = len(report) - accepted
    batch.report = report
    batch.save(update_fields=["total_rows", "accepted_rows", "rejected_rows", "report"])
    return batch


def _entry(index: int, row) -> dict:
    row = row if isinstance(row, dict) else {}
    return {"row": row.get("_line", index), "row_id": str(row.get("row_id") or "")}


def _receive_rows(chunk, *, acting_user, school, batch, case_types, spans) -> list[dict]:
    """Row by row, each in its own savepoint, through case_receive (the fallback of a chunk)."""
    entries = []
    for index, row in chunk:
        entry = _entry(index, row)
        try:
            with transaction.atomic():
                lookups = _Lookups([row], school=school)
                kwargs = _row_kwargs(row, id_number=lookups.id_numbers[0], lookups=lookups, case_types=case_types, policy_spans=spans)
                case = case_receive(acting_user=acting_user, school=school, batch=batch, **kwargs)
        except ROW_ERRORS as exc:
            entries.append(_rejected(entry, _for_school(exc, school)))
        else:
            entries.append(_accepted(entry, case))
    return entries


def _receive_chunk(chunk, *, acting_user, school, batch, case_types, spans) -> list[dict]:
    """The rows of one chunk received set-based: the same checks as case_receive, a fixed number of queries.

    Per chunk: persons, institutions, cover, claimed invoices, earlier maternity cases (one query
    each), then bulk inserts of cases, invoices, checklists, attachments, transitions and their
    history rows. A bad row is reported and skipped; the good rows of the chunk are kept.
    """
    lookups = _Lookups([row for _i, row in chunk], school=school)
    entries: list[dict] = []
    prepared: list[tuple[dict, Received]] = []
    for (index, row), id_number in zip(chunk, lookups.id_numbers, strict=True):
        entry = _entry(index, row)
        entries.append(entry)
        try:
            kwargs = _row_kwargs(row, id_number=id_number, lookups=lookups, case_types=case_types, policy_spans=spans)
            prepared.append((entry, case_prepare(acting_user=acting_user, school=school, batch=batch, **kwargs)))
        except ROW_ERRORS as exc:
            _rejected(entry, exc)

    claimed = claimed_invoices((inv.issuer, inv.number) for _e, r in prepared for inv in r.invoices)
    covered = covered_pairs((r.case.person_id, r.case.service_from) for _e, r in prepared)
    maternity = maternity_conflicts(r.case.person_id for _e, r in prepared if r.case.case_type.benefit == Benefit.MATERNITY)
    in_batch: dict[tuple[str, str], Case] = {}  # invoices claimed by earlier live rows of the batch
    refused: list[tuple[dict, object, int | Case]] = []  # (entry, error factory, earlier case: id, or not saved yet)
    kept: list[tuple[dict, Received, bool]] = []
    policies = PolicyCache()  # maternity.same_pregnancy_days and the fund-security rules, read once per region and date
    for entry, r in prepared:
        try:
            conflict = _conflict(r, claimed=claimed, in_batch=in_batch, maternity=maternity, policies=policies)
        except CaseError as exc:  # the policy parameter of the check is missing: this row only
            _rejected(entry, exc)
            continue
        if conflict is not None:
            refused.append((entry, *conflict))
            continue
        live = (r.case.person_id, r.case.service_from) in covered
        if live:
            in_batch.update({(inv.issuer, inv.number): r.case for inv in r.invoices})
            if r.case.case_type.benefit == Benefit.MATERNITY:
                maternity.setdefault(r.case.person_id, []).append((r.case, r.case.service_from, r.case.service_to))
        else:  # received, then rejected at once with the reason (DOMAIN §9), as case_receive does: invoices released
            for inv in r.invoices:
                inv.claimed = False
        kept.append((entry, r, live))

    kept = _fund_security(kept, policies)
    if kept:
        _insert(kept, acting_user=acting_user, batch=batch)
    other = {e for _entry, _make, e in refused if not isinstance(e, Case)}  # earlier cases not of this batch
    owners = dict(Case.objects.filter(pk__in=other).values_list("pk", "school_id")) if other else {}
    owners.update({e.pk: school.pk for _entry, _make, e in refused if isinstance(e, Case)})  # this batch's own rows
    for entry, make_error, earlier in refused:
        number = earlier.number if isinstance(earlier, Case) else Case(pk=earlier).number
        _rejected(entry, _for_school(make_error(number), school, owners))
    return entries


def _fund_security(kept: list, policies: PolicyCache) -> list:
    """The block rules of fund security over the chunk's live rows (DOMAIN.md §9, issue 15 item 2:
    an inpatient stay overlapping paid care-home days, one benefit twice …) against the persons'
    approved cases and care days, set-based (claims.supervision.blocks.batch_refusals). A refused
    row is reported with the rule's reason in Chinese; the other rows go through."""
    from claims.supervision.blocks import batch_refusals

    by_region: dict[str, list] = {}
    for i, (_entry, r, live) in enumerate(kept):
        if live:
            by_region.setdefault(r.case.case_type.region.code, []).append((f"row:{i}", r.case, r.invoices))
    refused: dict[str, str] = {}
    for region, rows in by_region.items():
        refused.update(batch_refusals(rows, region=region, policies=policies))
    if not refused:
        return kept
    out = []
    for i, item in enumerate(kept):
        if f"row:{i}" in refused:
            _rejected(item[0], FundSecurityBlocked(refused[f"row:{i}"]))
        else:
            out.append(item)
    return out


def _conflict(r: Received, *, claimed: dict, in_batch: dict, maternity: dict, policies: PolicyCache):
    """Why the row may not be received — (error factory taking the earlier case's number, earlier case) — or None."""
    for inv in r.invoices:  # DOMAIN §6/§9: the same invoice is never reimbursed twice
        key = (inv.issuer, inv.number)
        earlier = claimed.get(key) or in_batch.get(key)
        if earlier is not None:
            return partial(DuplicateInvoice, inv.issuer, inv.number), earlier
    if r.case.case_type.benefit == Benefit.MATERNITY:  # DOMAIN §4: one lump sum per birth/pregnancy
        days = same_pregnancy_window(r.case.case_type.region.code, r.case.service_from, policies=policies)
        for earlier, start, end in maternity.get(r.case.person_id, []):
            if same_pregnancy(r.case.service_from, r.case.service_to, start, end, days=days):
                return DuplicateMaternity, earlier
    return None


def _insert(kept: list, *, acting_user, batch) -> None:
    """Bulk inserts of the kept rows: cases (+ history), the not-covered ones rejected, invoices, checklists, attachments."""
    cases = Case.objects.bulk_create([r.case for _e, r, _live in kept])
    if not all(c.pk for c in cases):  # every supported database returns the ids of a bulk insert
        raise RuntimeError("bulk insert did not return the case ids")
    ids = [c.pk for c in cases]
    in_cases = f"{qn('id')} IN ({marks(ids)})"
    now = timezone.now()
    reason = received_reason(batch)
    transitions = [CaseTransition(case=c, from_state="", to_state=S.RECEIVED, actor=acting_user, reason=reason) for c in cases]
    not_covered = [r.case for _e, r, live in kept if not live]
    with connection.cursor() as cursor:
        insert_history(cursor, Case, in_cases, ids, user=acting_user, date=now, reason="", kind="+")
        if not_covered:
            for case in not_covered:
                case.state, case.reason, case.state_changed_at = S.REJECTED, not_covered_reason(case.service_from), now
            Case.objects.bulk_update(not_covered, ["state", "reason", "state_changed_at"])
            rejected_ids = [c.pk for c in not_covered]
            insert_history(cursor, Case, f"{qn('id')} IN ({marks(rejected_ids)})", rejected_ids, user=acting_user, date=now,
                           reason="received → rejected", kind="~")
            transitions += [CaseTransition(case=c, from_state=S.RECEIVED, to_state=S.REJECTED, actor=acting_user, reason=c.reason)
                            for c in not_covered]
        invoices, materials, attachments = [], [], []
        for _e, r, _live in kept:
            for inv in r.invoices:
                inv.case = r.case
            invoices += r.invoices
            materials += r.materials(now)
            attachments += r.attachment_rows()
        of_cases = f"{qn('case_id')} IN ({marks(ids)})"
        # In (issuer, number) order, as case_receive does: two requests inserting the same invoices
        # wait for each other in one order instead of deadlocking on the unique claimed invoice.
        Invoice.objects.bulk_create(sorted(invoices, key=invoice_key))
        insert_history(cursor, Invoice, of_cases, ids, user=acting_user, date=now, reason="", kind="+")
        CaseMaterial.objects.bulk_create(materials)
        insert_history(cursor, CaseMaterial, of_cases, ids, user=acting_user, date=now, reason="", kind="+")
    if attachments:
        Attachment.objects.bulk_create(attachments)
    CaseTransition.objects.bulk_create(transitions)
    for entry, r, _live in kept:
        _accepted(entry, r.case)
