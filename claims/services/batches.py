"""School batches (REST API and CSV/XLSX upload): idempotent on the client's batch id, one report row per row.

Each row is received in its own savepoint, so good rows are kept when others fail.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from enrollment.idnumber import normalize
from enrollment.models import Person
from medins.models import Institution, InstitutionLevel

from ..errors import CaseError
from ..models import Batch, CaseType
from .cases import case_receive

# Columns of the CSV/XLSX file (one row = one case with one invoice).
COLUMNS = ["row_id", "id_number", "name", "case_type", "service_from", "service_to", "institution_code",
           "institution_name", "institution_level", "delivery", "invoice_issuer", "invoice_number", "invoice_date",
           "class_a", "class_b", "class_c", "third_party_paid", "bank_account", "materials"]
REQUIRED_COLUMNS = {"id_number", "case_type", "service_from", "invoice_issuer", "invoice_number", "invoice_date"}
MAX_ATTACHMENT = 5 * 1024 * 1024


class BatchFileError(Exception):
    """The uploaded file cannot be read at all (not one row is taken)."""


def rows_from_file(filename: str, content: bytes) -> list[dict]:
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise BatchFileError(f"not a readable XLSX file: {exc}") from exc
        values = [["" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)) for v in row]
                  for row in sheet.iter_rows(values_only=True)]
    elif name.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise BatchFileError("the CSV file is neither UTF-8 nor GB18030") from exc
        values = list(csv.reader(io.StringIO(text)))
    else:
        raise BatchFileError("upload a .csv or .xlsx file")
    if not values:
        raise BatchFileError("the file is empty")
    header = [h.strip() for h in values[0]]
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise BatchFileError(f"missing columns: {', '.join(sorted(missing))}")
    rows = []
    for line, cells in enumerate(values[1:], 2):
        if not any(str(c).strip() for c in cells):
            continue
        row = {h: str(cells[i]).strip() if i < len(cells) else "" for i, h in enumerate(header) if h}
        row["_line"] = line
        rows.append(row)
    return rows


def _row_kwargs(row: dict, *, school, case_types: dict, institutions: dict) -> dict:
    id_number = normalize(str(row.get("id_number", "")))
    person = Person.objects.filter(id_number=id_number, school=school).select_related("region").first()
    if person is None:
        # The same answer whether the person is unknown or another school's: nothing leaks.
        raise CaseError("id_number: 不是本校参保学生（not an insured student of this school）", field="id_number")
    if row.get("name") and row["name"].strip() != person.name:
        raise CaseError("name: 姓名与身份证号不符（name does not match the ID number）", field="name")
    case_type = case_types.get((person.region_id, str(row.get("case_type", "")).strip()))
    if case_type is None:
        raise CaseError("case_type: 未知的报销类型（unknown case type）", field="case_type")
    institution = None
    code = str(row.get("institution_code") or "").strip()
    if code:
        institution = institutions.get((person.region_id, code))
        if institution is None:
            institution = Institution.objects.filter(region_id=person.region_id, code=code).first()
        if institution is None:
            raise CaseError("institution_code: 不是本地定点医疗机构编码（unknown designated institution）", field="institution_code")
    level = str(row.get("institution_level") or "").strip()
    if level and level not in InstitutionLevel.values:
        raise CaseError("institution_level: 未知的医院级别（unknown level）", field="institution_level")
    if "invoices" in row:
        invoices = row["invoices"]
    else:
        invoices = [{"issuer": row.get("invoice_issuer"), "number": row.get("invoice_number"), "issued_on": row.get("invoice_date"),
                     "class_a": row.get("class_a"), "class_b": row.get("class_b"), "class_c": row.get("class_c"),
                     "kind": row.get("invoice_kind") or None}]
    materials = row.get("materials") or []
    if isinstance(materials, str):
        materials = [m.strip() for m in materials.replace("；", ";").split(";") if m.strip()]
    attachments = []
    for i, a in enumerate(row.get("attachments") or []):
        try:
            content = base64.b64decode(a.get("content_base64", ""), validate=True)
        except (binascii.Error, ValueError):
            raise CaseError(f"attachments[{i}]: content_base64 is not base64", field=f"attachments[{i}]") from None
        if len(content) > MAX_ATTACHMENT:
            raise CaseError(f"attachments[{i}]: larger than 5 MB", field=f"attachments[{i}]")
        attachments.append({"material": a.get("material", ""), "filename": str(a.get("filename") or f"attachment-{i + 1}")[:200],
                            "content_type": a.get("content_type", ""), "content": content})
    return {
        "case_type": case_type, "person": person, "service_from": row.get("service_from"),
        "service_to": row.get("service_to") or None, "institution": institution,
        "institution_name": str(row.get("institution_name") or ""), "institution_level": level,
        "delivery": str(row.get("delivery") or ""), "third_party_paid": row.get("third_party_paid") or "0",
        "bank_account": str(row.get("bank_account") or ""), "invoices": invoices, "materials_received": materials,
        "lost_invoice_promise": bool(row.get("lost_invoice_promise")), "attachments": attachments,
    }


def batch_submit(*, acting_user, school, client_batch_id: str, rows: Iterable[dict], source: str,
                 filename: str = "") -> tuple[Batch, bool]:
    """Create the batch and its cases; (batch, created). The same client batch id returns the first batch unchanged."""
    client_batch_id = (client_batch_id or "").strip()
    if not client_batch_id:
        raise CaseError("batch_id: required (or send an Idempotency-Key header)", field="batch_id")
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


def _submit(*, acting_user, school, client_batch_id, rows, source, filename) -> Batch:
    batch = Batch.objects.create(school=school, client_batch_id=client_batch_id, source=source, filename=filename[:200],
                                 submitted_by=acting_user)
    case_types = {(t.region_id, t.code): t for t in CaseType.objects.filter(active=True).prefetch_related("materials")}
    institutions: dict = {}
    report = []
    accepted = 0
    for index, row in enumerate(rows, 1):
        entry = {"row": row.get("_line", index), "row_id": str(row.get("row_id") or "")}
        try:
            with transaction.atomic():
                kwargs = _row_kwargs(row, school=school, case_types=case_types, institutions=institutions)
                case = case_receive(acting_user=acting_user, school=school, batch=batch, **kwargs)
        except CaseError as exc:
            entry.update(status="rejected", errors=[str(exc)], field=exc.field)
            if getattr(exc, "earlier_case", None):
                entry["earlier_case"] = exc.earlier_case
        except (KeyError, TypeError, AttributeError) as exc:
            entry.update(status="rejected", errors=[f"malformed row: {exc}"])
        else:
            accepted += 1
            entry.update(status="accepted", case=case.number, case_id=case.pk, state=case.state)
            if case.state == "rejected":
                entry["reason"] = case.reason
        report.append(entry)
    batch.total_rows = len(report)
    batch.accepted_rows = accepted
    batch.rejected_rows = len(report) - accepted
    batch.report = report
    batch.save(update_fields=["total_rows", "accepted_rows", "rejected_rows", "report"])
    return batch
