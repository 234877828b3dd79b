"""Visits and sign-up files uploaded in the admin (clerk or institution operator): check, then import.

`pool_upload_check` reads the file and runs the real service (visits_receive: pool and certified
visits, each row naming its benefit; or
pool_signups_import) inside a transaction that is rolled back (medins.uploads.dry_run), so the preview shows exactly
what the import will do — each problem naming its row and field — and writes nothing but the
upload record. `pool_upload_confirm` runs the same service on the stored rows, once: a second
confirmation is refused, and visits are idempotent per (institution, visit id) anyway.

An institution operator may upload only for its own institution (object-level check); the
uploader must hold `settlement.add_visit` (visits) or `settlement.add_poolmembership` (sign-ups).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from enrollment.messages import label
from medins.messages import Msg
from medins.models import Institution
from medins.parsing import FileError, gettext_noop
from medins.selectors import PolicyCache
from medins.uploads import PENDING, dry_run, upload_pending

from ..errors import InvalidRequest, SettlementError
from ..imports import read_rows
from ..models import PoolUpload, UploadKind, UploadStatus
from ..selectors import may_act_for
from .certified import visits_receive
from .membership import pool_signups_import
from .stays import MAX_STAYS, stay_rows_group, stays_receive
from .visits import MAX_BATCH

MAX_ROWS = 50_000
# Stays come in under the visit permission: the same institution operator, the same way in.
PERMISSION = {UploadKind.VISITS: "settlement.add_visit", UploadKind.SIGNUPS: "settlement.add_poolmembership",
              UploadKind.STAYS: "settlement.add_visit"}


class UploadRefused(SettlementError):
    code = "upload_refused"


def _check_user(user, kind: str, institution: Institution) -> None:
    if not user.has_perm(PERMISSION[kind]):
        raise UploadRefused(Msg(gettext_noop("you may not upload %(kind)s"), kind=label(UploadKind(kind).label)))
    if not may_act_for(user, institution.pk):
        raise UploadRefused(Msg(gettext_noop("an institution operator may upload only for its own institution")))


def _apply(*, acting_user, kind: str, institution: Institution, year: int | None, rows: list[dict],
           progress=None) -> dict:
    """Run the service on the rows; {created, duplicates|unchanged, errors: [{row, field, message, …}]}.
    `progress(rows done, rows)` after each batch of visits (a background job's progress, medins.jobs)."""
    if kind == UploadKind.SIGNUPS:
        result = pool_signups_import(acting_user=acting_user, institution=institution, year=year, rows=rows)
        return {"created": result.created, "unchanged": result.unchanged, "errors": result.errors}
    if kind == UploadKind.STAYS:
        return _apply_stays(acting_user=acting_user, institution=institution, rows=rows, progress=progress)
    report = {"created": 0, "duplicates": 0, "fund": "0.00", "errors": []}
    fund = 0
    policies = PolicyCache()  # one for the file: its batches read the same policy versions
    for offset in range(0, len(rows), MAX_BATCH):
        result = visits_receive(acting_user=acting_user, institution=institution, rows=rows[offset:offset + MAX_BATCH],
                               policies=policies)
        report["created"] += result.created
        report["duplicates"] += result.duplicates
        fund += result.fund
        report["errors"] += [{**e, "row": e["row"] + offset} for e in result.errors]
        if progress is not None:
            progress(min(offset + MAX_BATCH, len(rows)), len(rows))
    report["fund"] = str(fund)
    return report


def _apply_stays(*, acting_user, institution: Institution, rows: list[dict], progress=None) -> dict:
    """A file of stays: its rows (one per line) grouped by stay; an error names the stay's first row.
    `progress(file rows done, rows)` after each batch of stays."""
    stays, first_rows = stay_rows_group(rows)
    report = {"stays": len(stays), "created": 0, "duplicates": 0, "fund": "0.00", "errors": []}
    fund = 0
    for offset in range(0, len(stays), MAX_STAYS):
        result = stays_receive(acting_user=acting_user, institution=institution, stays=stays[offset:offset + MAX_STAYS])
        report["created"] += result.created
        report["duplicates"] += result.duplicates
        fund += result.fund
        report["errors"] += [{**e, "row": first_rows[offset + e["row"] - 1]} for e in result.errors]
        if progress is not None:  # the file's rows up to the next batch's first stay
            following = offset + MAX_STAYS
            progress(first_rows[following] - 1 if following < len(stays) else len(rows), len(rows))
    report["fund"] = str(fund)
    return report


def _read(*, acting_user, kind: str, institution: Institution, year: int | None, filename: str,
          content: bytes) -> list[dict]:
    if kind not in UploadKind.values:
        raise InvalidRequest("kind", Msg(gettext_noop("must be visits, stays or signups")))
    _check_user(acting_user, kind, institution)
    if kind == UploadKind.SIGNUPS and not year:
        raise InvalidRequest("year", Msg(gettext_noop("a sign-up list needs its year")))
    rows = read_rows(filename, content, max_rows=MAX_ROWS, kind=kind)  # English or Chinese headers
    if not rows:
        raise FileError(Msg(gettext_noop("the file has no rows")))
    if len(rows) > MAX_ROWS:
        raise InvalidRequest("file", Msg(gettext_noop("at most %(max)s rows per file"), max=MAX_ROWS))
    return [{str(k): v if isinstance(v, (str, int)) else str(v) for k, v in row.items()} for row in rows]


def pool_upload_check(*, acting_user, kind: str, institution: Institution, year: int | None, filename: str,
                      content: bytes) -> PoolUpload:
    """Read and check a file; nothing but the upload record is written."""
    rows = _read(acting_user=acting_user, kind=kind, institution=institution, year=year, filename=filename,
                 content=content)
    report = dry_run(lambda: _apply(acting_user=acting_user, kind=kind, institution=institution, year=year, rows=rows))
    report["total"] = len(rows)
    with transaction.atomic():
        return PoolUpload.objects.create(kind=kind, institution=institution, year=year if kind == UploadKind.SIGNUPS
                                         else None, filename=filename[:200], rows=rows, preview=report,
                                         uploaded_by=acting_user)


def pool_upload_store(*, acting_user, kind: str, institution: Institution, year: int | None, filename: str,
                      content: bytes) -> PoolUpload:
    """A large file (issue #14 item 3): read and stored with its report pending; pool_upload_recheck,
    run by a background job, writes the report."""
    rows = _read(acting_user=acting_user, kind=kind, institution=institution, year=year, filename=filename,
                 content=content)
    with transaction.atomic():
        return PoolUpload.objects.create(kind=kind, institution=institution, year=year if kind == UploadKind.SIGNUPS
                                         else None, filename=filename[:200], rows=rows, preview={PENDING: True},
                                         uploaded_by=acting_user)


def pool_upload_recheck(*, acting_user, upload: PoolUpload, progress=None) -> dict:
    """The check's report of a stored upload (the dry run on its rows); writes nothing."""
    upload = PoolUpload.objects.select_related("institution", "institution__region").get(pk=upload.pk)
    _check_user(acting_user, upload.kind, upload.institution)
    report = dry_run(lambda: _apply(acting_user=acting_user, kind=upload.kind, institution=upload.institution,
                                    year=upload.year, rows=upload.rows, progress=progress))
    report["total"] = len(upload.rows)
    return report


@transaction.atomic
def pool_upload_confirm(*, acting_user, upload: PoolUpload, progress=None) -> PoolUpload:
    """Import a checked upload (once; not before its check is done)."""
    upload = PoolUpload.objects.select_for_update().select_related("institution", "institution__region").get(pk=upload.pk)
    _check_user(acting_user, upload.kind, upload.institution)
    if upload.status != UploadStatus.CHECKED:
        raise UploadRefused(Msg(gettext_noop("this file is already imported")))
    if upload_pending(upload):
        raise UploadRefused(Msg(gettext_noop("this file is still being checked")))
    report = _apply(acting_user=acting_user, kind=upload.kind, institution=upload.institution, year=upload.year,
                    rows=upload.rows, progress=progress)
    report["total"] = len(upload.rows)
    upload.result = report
    upload.status = UploadStatus.DONE
    upload.imported_at = timezone.now()
    upload.save(update_fields=["result", "status", "imported_at"])
    return upload
