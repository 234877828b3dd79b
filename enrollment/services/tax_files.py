"""Importing tax bureau payment files: prepare (dry run, every row's problem) then confirm.

Idempotent by receipt number: rows already recorded are counted as duplicates and skipped, so
importing the same file twice changes nothing. A bad row never blocks the good ones: rows are
validated in Python in chunks (one query each for existing receipts, persons, their cover and
deaths), then the good rows of a chunk are bulk-inserted in one transaction per chunk, so a
crash loses at most the chunk in progress and re-confirming resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from medins.benefits.errors import QuoteError
from medins.bulk import among, column_in, insert_history
from medins.selectors import PolicyCache

from ..idnumber import mask
from ..imports import FileError, RowProblem, read_table, row_error, row_parser
from ..messages import Msg, message_of
from ..models import (
    CoveragePeriod,
    CoverageStatus,
    ImportStatus,
    Payment,
    PaymentImport,
    PaymentSource,
    PaymentStatus,
    Person,
    Stop,
    StopReason,
)
from ..preview import PreviewRequest
from ..previewing import Previewer
from .payments import payment_check_request

CHUNK = 5000
# Decision (issue #14): a preview nobody confirmed within a day is abandoned. The beat job
# `enrollment.payment_imports_expire` marks it expired and drops the stored file; confirming an
# older preview is refused even before the job ran (the clerk uploads the file again).
PREVIEW_EXPIRY = dt.timedelta(hours=24)


@dataclass
class ImportReport:
    total: int = 0
    ok: int = 0  # valid rows (imported when confirming)
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    ok_sample: list[dict] = field(default_factory=list)  # the first valid rows, for the preview page


class _Person(NamedTuple):
    pk: int
    name: str
    birth_date: dt.date
    region: str
    school_kind: str | None


def _persons(id_numbers, *, lock: bool) -> dict[str, _Person]:
    """The persons of a chunk by ID number: only the columns the checks need, as tuples (no
    model instances). When writing, locked in pk order like `lock_persons`."""
    qs = Person.objects.filter(among(Person, "id_number", id_numbers))
    if lock:
        qs = qs.order_by("pk").select_for_update(of=("self",))
    rows = qs.values_list("id_number", "pk", "name", "birth_date", "region__code", "school__kind")
    return {number: _Person(*rest) for number, *rest in rows}


def _chunk(rows, *, parse, header, columns, seen, previewer, write, payment_import, acting_user, report, sample):
    parsed = []
    for number, values in rows:
        report.total += 1
        try:
            row = parse(number, values)
        except RowProblem as exc:
            report.errors.append(row_error(number, exc.field, exc.args[0], values, columns, header))
            continue
        if row.receipt_number in seen:
            report.errors.append(row_error(number, "receipt_number",
                                           Msg(gettext_noop("receipt repeated in this file (first at row %(row)d)"),
                                               row=seen[row.receipt_number]),
                                           values, columns, header))
            continue
        seen[row.receipt_number] = number
        parsed.append((row, values))
    if not parsed:
        return

    recorded = set(Payment.objects.filter(among(Payment, "receipt_number", [r.receipt_number for r, _v in parsed]))
                   .values_list("receipt_number", flat=True))
    if recorded:
        report.duplicates += sum(1 for r, _v in parsed if r.receipt_number in recorded)
        parsed = [(r, v) for r, v in parsed if r.receipt_number not in recorded]
        if not parsed:
            return
    persons = _persons({r.id_number for r, _v in parsed}, lock=write)
    person_ids = [p.pk for p in persons.values()]
    cover: dict[int, list] = {pid: [] for pid in person_ids}
    deceased: set[int] = set()
    if person_ids:
        for pid, start, end in (CoveragePeriod.objects.filter(among(CoveragePeriod, "person_id", person_ids),
                                                              status=CoverageStatus.ACTIVE)
                                .values_list("person_id", "covered_from", "covered_to")):
            cover[pid].append((start, end))
        deceased = set(Stop.objects.filter(among(Stop, "person_id", person_ids), reason=StopReason.DEATH)
                       .values_list("person_id", flat=True))

    good = []
    for row, values in parsed:
        person = persons.get(row.id_number)
        if person is None:
            message = Msg(gettext_noop("no insured person is registered with this ID number"))
            report.errors.append(row_error(row.row, "id_number", message, values, columns, header))
            continue
        if row.name and row.name != person.name:
            message = Msg(gettext_noop("the person registered with this ID number is %(name)s"), name=person.name)
            report.errors.append(row_error(row.row, "name", message, values, columns, header))
            continue
        req = PreviewRequest(region=person.region, birth_date=person.birth_date, payment_date=row.paid_on,
                             school_kind=person.school_kind, newborn_registration=row.newborn_registration)
        try:
            result = payment_check_request(req, amount=row.amount, existing=cover[person.pk],
                                           deceased=person.pk in deceased, preview=previewer)
        except QuoteError as exc:
            extra = {"code": exc.code}
            if getattr(exc, "parameter", None):
                extra["parameter"] = exc.parameter
            report.errors.append(row_error(row.row, getattr(exc, "field", "paid_on"), message_of(exc), values, columns, header,
                                           **extra))
            continue
        cover[person.pk].extend((p.covered_from, p.covered_to) for p in result.periods)
        good.append((row, person, result))
        if len(sample) < 50:
            sample.append({"row": row.row, "receipt_number": row.receipt_number, "name": person.name,
                           "id_number": mask(row.id_number), **result.as_dict()})
    report.ok += len(good)
    if write and good:
        _insert(good, payment_import=payment_import, acting_user=acting_user, report=report)


def _insert_copy(good, *, payment_import, now) -> dict[str, int]:
    """PostgreSQL: COPY the payments into a temporary table, INSERT … SELECT … ON CONFLICT DO
    NOTHING RETURNING (a receipt recorded concurrently is skipped), then COPY the periods of the
    payments actually inserted. No model instances."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS enr_stage_payment (receipt_number varchar(40), person_id bigint, paid_on date, "
            "amount numeric(14, 2), category varchar(20), newborn_registration boolean, policy_version varchar(40)) "
            "ON COMMIT DELETE ROWS")
        with cursor.copy("COPY enr_stage_payment FROM STDIN") as copy:
            for row, person, result in good:
                copy.write_row((row.receipt_number, person.pk, row.paid_on, result.amount_due, result.category,
                                row.newborn_registration, result.policy_version))
        cursor.execute(
            "INSERT INTO enrollment_payment (receipt_number, person_id, paid_on, amount, category, newborn_registration, "
            "policy_version, source, payment_import_id, status, created_at) "
            "SELECT receipt_number, person_id, paid_on, amount, category, newborn_registration, policy_version, %s, %s, %s, %s "
            "FROM enr_stage_payment ON CONFLICT (receipt_number) DO NOTHING RETURNING receipt_number, id",
            [PaymentSource.TAX_FILE, payment_import.pk, PaymentStatus.RECORDED, now])
        ours = dict(cursor.fetchall())
        with cursor.copy("COPY enrollment_coverageperiod (person_id, payment_id, benefit_year, covered_from, covered_to, "
                         "waiting, status) FROM STDIN") as copy:
            for row, person, result in good:
                payment_id = ours.get(row.receipt_number)
                if payment_id is not None:
                    for p in result.periods:
                        copy.write_row((person.pk, payment_id, p.benefit_year, p.covered_from, p.covered_to, p.waiting,
                                        CoverageStatus.ACTIVE))
        cursor.execute("TRUNCATE enr_stage_payment")
    return ours


def _insert_orm(good, *, payment_import) -> dict[str, int]:
    payments = [
        Payment(receipt_number=row.receipt_number, person_id=person.pk, paid_on=row.paid_on, amount=result.amount_due,
                category=result.category, newborn_registration=row.newborn_registration,
                policy_version=result.policy_version, source=PaymentSource.TAX_FILE, payment_import=payment_import)
        for row, person, result in good
    ]
    # ignore_conflicts: a receipt recorded concurrently since the check above is skipped, not an error
    Payment.objects.bulk_create(payments, ignore_conflicts=True)
    ours = dict(Payment.objects.filter(payment_import=payment_import, receipt_number__in=[p.receipt_number for p in payments])
                .values_list("receipt_number", "pk"))
    periods = []
    for row, person, result in good:
        payment_id = ours.get(row.receipt_number)
        if payment_id is not None:
            periods.extend(
                CoveragePeriod(person_id=person.pk, payment_id=payment_id, benefit_year=p.benefit_year,
                               covered_from=p.covered_from, covered_to=p.covered_to, waiting=p.waiting)
                for p in result.periods)
    CoveragePeriod.objects.bulk_create(periods)
    return ours


def _insert(good, *, payment_import, acting_user, report):
    """Insert a chunk's valid rows with their coverage periods and history (author and time)."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        ours = _insert_copy(good, payment_import=payment_import, now=now)
    else:
        ours = _insert_orm(good, payment_import=payment_import)
    lost = len(good) - len(ours)
    report.ok -= lost
    report.duplicates += lost
    if not ours:
        return
    payment_ids = list(ours.values())
    with connection.cursor() as cursor:
        for model, column in ((Payment, "id"), (CoveragePeriod, "payment_id")):
            where, params = column_in(column, payment_ids)
            insert_history(cursor, model, where, params, user=acting_user, date=now, reason="", kind="+")
    PaymentImport.objects.filter(pk=payment_import.pk).update(imported_rows=F("imported_rows") + len(ours))


def _async_commit() -> None:
    """PostgreSQL: this chunk's commit does not wait for its WAL to reach the disk (a few hundred
    ms a chunk). Safe here: WAL is flushed in order, so the import's final status update, an
    ordinary synchronous commit, makes every chunk before it durable; a crash before that loses
    at most recent chunks, whose rows re-confirming imports again (idempotent by receipt)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _run(payment_import: PaymentImport, *, write: bool, acting_user, chunk_size: int = CHUNK, progress=None,
         expected: int = 0) -> ImportReport:
    """Every row in chunks; `progress(rows read, rows expected)` after each chunk (a background job's
    progress bar, medins.jobs; `expected` is an estimate, raised when the file holds more)."""
    report = ImportReport()
    header, columns, rows = read_table(payment_import.filename, bytes(payment_import.content))
    previewer, seen, parse = Previewer(PolicyCache()), {}, row_parser(columns)
    while True:
        chunk = list(itertools.islice(rows, chunk_size))
        if not chunk:
            break
        kwargs = dict(parse=parse, header=header, columns=columns, seen=seen, previewer=previewer, write=write,
                      payment_import=payment_import, acting_user=acting_user, report=report, sample=report.ok_sample)
        if write:
            with transaction.atomic():
                _async_commit()
                _chunk(chunk, **kwargs)
        else:
            _chunk(chunk, **kwargs)
        if progress is not None:
            progress(report.total, max(expected, report.total))
    report.errors.sort(key=lambda e: e["row"])
    return report


def payment_import_prepare(*, acting_user, filename: str, content: bytes) -> tuple[PaymentImport, ImportReport]:
    """Store the upload and validate every row without writing payments (the clerk's preview).

    Raises imports.FileError when the file as a whole cannot be read.
    """
    payment_import = PaymentImport(filename=filename[:200], content=content, uploaded_by=acting_user)
    report = _run(payment_import, write=False, acting_user=acting_user)
    with transaction.atomic():
        payment_import.total_rows = report.total
        payment_import.duplicate_rows = report.duplicates
        payment_import.error_rows = len(report.errors)
        payment_import.errors = report.errors
        payment_import.save()
    return payment_import, report


def payment_import_store(*, acting_user, filename: str, content: bytes) -> PaymentImport:
    """Keep an uploaded file for a check in the background (payment_import_check); nothing validated yet."""
    return PaymentImport.objects.create(filename=filename[:200], content=content, uploaded_by=acting_user)


def payment_import_check(*, acting_user, payment_import: PaymentImport, progress=None,
                         expected: int = 0) -> ImportReport:
    """The preview of a stored file (payment_import_prepare's check, for a file too large for the
    page): every row validated, nothing written but the import's counts and row problems."""
    report = _run(payment_import, write=False, acting_user=acting_user, progress=progress, expected=expected)
    with transaction.atomic():
        PaymentImport.objects.filter(pk=payment_import.pk, status=ImportStatus.PREVIEWED).update(
            total_rows=report.total, duplicate_rows=report.duplicates, error_rows=len(report.errors),
            errors=report.errors)
    payment_import.refresh_from_db()
    return report


def payment_import_confirm(*, acting_user, payment_import: PaymentImport, chunk_size: int | None = None,
                           progress=None) -> ImportReport:
    """Import the valid rows of a prepared file. Rows are re-validated (things may have changed
    since the preview); re-running after a crash skips what was already imported."""
    with transaction.atomic():
        locked = PaymentImport.objects.select_for_update().get(pk=payment_import.pk)
        if locked.status == ImportStatus.DONE:
            raise FileError(Msg(gettext_noop("this file import was already confirmed")))
        if locked.status == ImportStatus.EXPIRED or (
                locked.status == ImportStatus.PREVIEWED and locked.uploaded_at < timezone.now() - PREVIEW_EXPIRY):
            raise FileError(Msg(gettext_noop("this preview has expired (not confirmed within %(hours)d hours): "
                                             "upload the file again"), hours=PREVIEW_EXPIRY // dt.timedelta(hours=1)))
    report = _run(locked, write=True, acting_user=acting_user, chunk_size=chunk_size or CHUNK, progress=progress,
                  expected=locked.total_rows)
    with transaction.atomic():
        PaymentImport.objects.filter(pk=locked.pk).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), total_rows=report.total,
            duplicate_rows=report.duplicates, error_rows=len(report.errors), errors=report.errors,
        )
    payment_import.refresh_from_db()
    return report


def payment_imports_expire(*, acting_user=None, now: dt.datetime | None = None) -> int:
    """Mark previews older than PREVIEW_EXPIRY expired and drop their stored file; the number expired.
    One conditional UPDATE: a preview being confirmed holds its row lock and is DONE afterwards,
    so it is never expired (the status condition is re-checked on the locked row)."""
    cutoff = (now or timezone.now()) - PREVIEW_EXPIRY
    return PaymentImport.objects.filter(status=ImportStatus.PREVIEWED, uploaded_at__lt=cutoff).update(
        status=ImportStatus.EXPIRED, content=b"", finished_at=now or timezone.now())


def payment_file_import(*, acting_user, filename: str, content: bytes) -> tuple[PaymentImport, ImportReport]:
    """Validate and import in one pass, without the clerk's preview (command line, benchmark)."""
    payment_import = PaymentImport.objects.create(filename=filename[:200], content=content, uploaded_by=acting_user)
    return payment_import, payment_import_confirm(acting_user=acting_user, payment_import=payment_import)
