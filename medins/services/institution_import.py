"""Importing designated institutions from a CSV/XLSX file in the admin (issue 12 item 3, issue 13
item 2: the agency adds the institutions the seeds do not name, e.g. the other 103 care homes).

`institution_import_check` reads the file through the one parser and runs the import on its rows
in a rolled-back transaction (medins.uploads): the preview is exactly what the import will do.
`institution_import_confirm` imports the stored rows, once.

Columns (first row; the English names or the Chinese ones): region / 地区编码, code / 机构编码,
name / 机构名称, kind / 机构类别, level / 级别, designations / 定点资格, and optionally short_name / 简称,
township / 乡镇卫生院, bank_name / 开户银行, bank_account / 银行账号, bank_account_name / 账户名称,
active / 有效, notes / 备注. Kind and level: the code (hospital, secondary …) or its Chinese label
(医院, 二级（县区级） …) or a common short form (二级, 一级, 社区, 药店 …). Designations: codes or
Chinese names (special_drug_pharmacy or 特药定点药店), separated by 、 or ; (also ；, | or ,).

Decisions (the issue leaves them open):
- Key: (region, institution code). A row whose key exists updates that institution, else creates it.
  The same key twice in one file: the second row is refused (it would silently win).
- Designations: the file states the institution's whole set. On update those the row names are
  added and those it does not name are removed (a clerk withdraws a designation by re-sending the
  row without it). The designations cell is required: an institution with no designation is
  deactivated with active = 否, not by emptying the cell.
- Optional columns (short name, township, bank fields, active, notes): an empty cell or a
  missing column keeps the existing value on update (a designations-only file does not wipe
  bank accounts); new institutions get the defaults (not a township centre, active).
- Township (乡镇卫生院) only at primary level (DOMAIN.md §4.2); bank account 8–32 digits.
- A bad row is reported with its line and the field in the reader's language and skipped; the
  good rows are imported. Re-importing the same file changes nothing and writes no history.
- Audit: every saved institution gets a history record (simple_history) with the uploader and
  the change reason "institution_import"; designation changes are recorded as m2m history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ..messages import Msg
from ..models import Designation, Institution, InstitutionImport, InstitutionKind, InstitutionLevel, Region
from ..parsing import (
    Column,
    ParseError,
    column_set,
    gettext_noop,
    header_fields,
    max_length,
    parse_bank_account,
    parse_bool,
    parse_text,
)
from ..roles import IMPORT_INSTITUTIONS
from ..uploads import PENDING, UploadStatus, dry_run, upload_pending, upload_rows

MAX_ROWS = 5_000
CHANGE_REASON = "institution_import"
PERMISSIONS = IMPORT_INSTITUTIONS  # declared in medins.roles
SEPARATORS = re.compile(r"[、;；|,，]+")

# field -> accepted header names (compared stripped, case-insensitively)
COLUMNS = column_set(
    Column("region", "地区编码", ("region_code", "统筹区", "统筹区编码")),
    Column("code", "机构编码", ("institution_code", "定点机构编码")),
    Column("name", "机构名称", ("名称",)),
    Column("short_name", "简称"),
    Column("kind", "机构类别", ("类别", "类型")),
    Column("level", "级别", ("机构级别",)),
    Column("designations", "定点资格", ("定点类别",)),
    Column("township", "乡镇卫生院"),
    Column("bank_name", "开户银行"),
    Column("bank_account", "银行账号"),
    Column("bank_account_name", "账户名称", ("户名",)),
    Column("active", "有效", ("是否有效",)),
    Column("notes", "备注"),
)
REQUIRED = ("region", "code", "name", "kind", "level", "designations")
OPTIONAL_KEPT = ("short_name", "township", "bank_name", "bank_account", "bank_account_name", "active", "notes")
# The field names a reader sees in an error (the model's verbose names, translated when shown).
LABELS = {
    "region": _("region code"),
    "code": _("institution code"),
    "name": _("name"),
    "short_name": _("short name"),
    "kind": _("kind"),
    "level": _("level"),
    "designations": _("designations"),
    "township": _("township health centre"),
    "bank_name": _("bank name"),
    "bank_account": _("bank account"),
    "bank_account_name": _("bank account holder"),
    "active": _("active"),
    "notes": _("notes"),
    "file": _("file"),
}
KIND_WORDS = {"诊所": "clinic", "卫生服务中心": "clinic", "社区卫生服务中心": "clinic", "卫生院": "clinic",
              "乡镇卫生院": "clinic", "村卫生室": "clinic", "养老机构": "care_home", "定点照护机构": "care_home"}
LEVEL_WORDS = {"三级省级": "provincial_tertiary", "省级三级": "provincial_tertiary", "三级市级": "municipal_tertiary",
               "市级三级": "municipal_tertiary", "二级": "secondary", "县区级": "secondary", "一级": "primary",
               "社区": "primary", "乡镇": "primary", "村": "village", "村卫生室": "village", "无级别": "ungraded",
               "未定级": "ungraded"}


class ImportRefused(Exception):
    """The file as a whole cannot be imported (no rows, a required column missing, already imported)."""

    def __init__(self, message: Msg):
        super().__init__(message)
        self.message = message

    def localized(self) -> str:
        return self.message.localized()


def _choice_lookup(choices, words: dict[str, str]) -> dict[str, str]:
    """Every way a file may write a choice: its code, English label, Chinese label, short forms."""
    out = {w: v for w, v in words.items()}
    for value, label in choices:
        out[value] = value
        out[str(label).lower()] = value
        with translation.override("zh-hans"):
            out[str(label)] = value
    return out


def _chinese_header(name: str) -> str:
    return COLUMNS[name].label


def _header_map(header: list[str]) -> dict[str, str]:
    """file header -> field, for the columns recognised."""
    return header_fields(header, COLUMNS)


@dataclass
class _Context:
    regions: dict[str, Region]
    designations: dict[str, Designation]  # code and Chinese name -> designation
    kinds: dict[str, str]
    levels: dict[str, str]
    existing: dict[tuple[int, str], Institution]
    seen: dict[tuple[str, str], int] = field(default_factory=dict)


def _error(row: int, field_name: str, message: Msg | str, **extra) -> dict:
    message = message if isinstance(message, Msg) else Msg(message)
    return {"row": row, "field": field_name, "message": message.as_json(), **extra}


def _parse_row(values: dict, line: int, ctx: _Context) -> dict:
    """The row's wanted values; raises ParseError naming the field."""
    out = {}
    region_code = parse_text(values.get("region"), "region", max_length=10, row=line, required=True, numbers=True)
    if region_code not in ctx.regions:
        raise ParseError("region", Msg(gettext_noop("%(value)s is not a region code (e.g. 220100)"), value=region_code),
                         row=line)
    out["region"] = ctx.regions[region_code]
    out["code"] = parse_text(values.get("code"), "code", max_length=max_length(Institution, "code"), row=line,
                             required=True, numbers=True)
    key = (region_code, out["code"])
    if key in ctx.seen:
        raise ParseError("code", Msg(gettext_noop("%(code)s appears twice in the file (first on row %(row)s)"),
                                     code=out["code"], row=ctx.seen[key]), row=line)
    ctx.seen[key] = line
    out["name"] = parse_text(values.get("name"), "name", max_length=max_length(Institution, "name"), row=line,
                             required=True)
    for name, lookup, words in (("kind", ctx.kinds, InstitutionKind), ("level", ctx.levels, InstitutionLevel)):
        text = parse_text(values.get(name), name, max_length=60, row=line, required=True)
        value = lookup.get(text) or lookup.get(text.lower())
        if value is None:
            raise ParseError(name, Msg(gettext_noop("%(value)s is not one of: %(choices)s"), value=text,
                                       choices=[str(label) for _v, label in words.choices]), row=line)
        out[name] = value
    text = parse_text(values.get("designations"), "designations", max_length=1000, row=line, required=True)
    wanted, unknown = {}, []
    for word in (w.strip() for w in SEPARATORS.split(text)):
        if not word:
            continue
        designation = ctx.designations.get(word) or ctx.designations.get(word.lower())
        if designation is None:
            unknown.append(word)
        else:
            wanted[designation.code] = designation
    if unknown:
        raise ParseError("designations", Msg(gettext_noop("unknown designation(s): %(names)s"), names=unknown), row=line)
    if not wanted:
        raise ParseError("designations", Msg(gettext_noop("is required")), row=line)
    out["designations"] = wanted
    # Optional columns: None = the cell is empty or the column absent (kept on update).
    for name in ("short_name", "bank_name", "bank_account_name", "notes"):
        text = parse_text(values.get(name), name, max_length=max_length(Institution, name) if name != "notes" else 2000,
                          row=line, multiline=name == "notes")
        out[name] = text or None
    account = parse_bank_account(values.get("bank_account"), "bank_account", row=line)
    out["bank_account"] = account or None
    for name in ("township", "active"):
        out[name] = parse_bool(values.get(name), name, row=line, default=None)
    return out


def _check_consistency(wanted: dict, current: Institution | None, line: int) -> None:
    township = wanted["township"] if wanted["township"] is not None else bool(current and current.township)
    if township and wanted["level"] != InstitutionLevel.PRIMARY:
        raise ParseError("township", Msg(gettext_noop("a township health centre (乡镇卫生院) is a primary-level institution")),
                         row=line)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    changes: list = field(default_factory=list)  # [{row, region, code, name, action, fields}] for the preview

    def as_dict(self, total: int) -> dict:
        return {"total": total, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "errors": self.errors, "changes": self.changes[:200], "changes_total": len(self.changes)}


def _context(rows: list[dict], header: dict[str, str]) -> _Context:
    designations = {}
    for d in Designation.objects.all():
        designations[d.code] = designations[d.code.lower()] = designations[d.name] = d
    regions = {r.code: r for r in Region.objects.all()}
    region_field = next((h for h, f in header.items() if f == "region"), None)
    code_field = next((h for h, f in header.items() if f == "code"), None)
    codes = {str(r.get(code_field, "")).strip() for r in rows} if code_field else set()
    region_ids = {regions[c].pk for c in {str(r.get(region_field, "")).strip() for r in rows} if c in regions} \
        if region_field else set()
    existing = {
        (obj.region_id, obj.code): obj
        for obj in Institution.objects.filter(region_id__in=region_ids, code__in=codes)
        .prefetch_related("designations").order_by("pk").select_for_update(of=("self",))
    }
    return _Context(regions=regions, designations=designations,
                    kinds=_choice_lookup(InstitutionKind.choices, KIND_WORDS),
                    levels=_choice_lookup(InstitutionLevel.choices, LEVEL_WORDS), existing=existing)


def _apply(*, acting_user, rows: list[dict]) -> dict:
    """Import the rows (each one in a savepoint: a failing row never takes the others with it)."""
    report = ImportReport()
    if not rows:
        return report.as_dict(0)
    header = _header_map([k for k in rows[0] if k != "_line"])
    missing = [f for f in REQUIRED if f not in header.values()]
    if missing:
        raise ImportRefused(Msg(gettext_noop("the file has no column %(columns)s"),
                                columns=[f"{_chinese_header(f)} ({f})" for f in missing]))
    ctx = _context(rows, header)
    for index, raw in enumerate(rows):
        line = int(raw.get("_line") or index + 2)
        values = {header[h]: v for h, v in raw.items() if h in header}
        try:
            wanted = _parse_row(values, line, ctx)
            current = ctx.existing.get((wanted["region"].pk, wanted["code"]))
            _check_consistency(wanted, current, line)
        except ParseError as exc:
            report.errors.append(_error(line, exc.field, exc.message, code=str(values.get("code", ""))))
            continue
        with transaction.atomic():
            action, changed = _save(wanted, current, acting_user)
        if action == "created":
            report.created += 1
        elif action == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
        if action != "unchanged":
            report.changes.append({"row": line, "region": wanted["region"].code, "code": wanted["code"],
                                   "name": wanted["name"], "action": action, "fields": changed})
    return report.as_dict(len(rows))


def _save(wanted: dict, current: Institution | None, acting_user) -> tuple[str, list[str]]:
    designations = wanted["designations"]
    if current is None:
        obj = Institution(region=wanted["region"], code=wanted["code"], name=wanted["name"], kind=wanted["kind"],
                          level=wanted["level"])
        for name in OPTIONAL_KEPT:
            if wanted[name] is not None:
                setattr(obj, name, wanted[name])
        _stamp(obj, acting_user)
        obj.save()
        _stamp(obj, acting_user)
        obj.designations.set([designations[c] for c in sorted(designations)])
        return "created", []
    changed = []
    for name in ("name", "kind", "level", *OPTIONAL_KEPT):
        value = wanted[name]
        if value is not None and getattr(current, name) != value:
            setattr(current, name, value)
            changed.append(name)
    if changed:
        _stamp(current, acting_user)
        current.save(update_fields=changed)
    have = {d.code for d in current.designations.all()}
    if have != set(designations):
        _stamp(current, acting_user)
        current.designations.set([designations[c] for c in sorted(designations)])
        changed.append("designations")
    return ("updated" if changed else "unchanged"), changed


def _stamp(obj, acting_user) -> None:
    obj._change_reason = CHANGE_REASON
    obj._history_user = acting_user


def _may_import(user) -> bool:
    return all(user.has_perm(p) for p in PERMISSIONS)


def institution_import_check(*, acting_user, filename: str, content: bytes) -> InstitutionImport:
    """Read and check a file: the report of what the import would do; only the upload record is written."""
    if not _may_import(acting_user):
        raise PermissionError("you may not import institutions")
    rows = upload_rows(filename, content, max_rows=MAX_ROWS)
    if not rows:
        raise ImportRefused(Msg(gettext_noop("the file has no rows")))

    def apply():
        with transaction.atomic():
            return _apply(acting_user=acting_user, rows=rows)

    report = dry_run(apply)
    with transaction.atomic():
        return InstitutionImport.objects.create(filename=filename[:200], rows=rows, preview=report,
                                                uploaded_by=acting_user)


def institution_import_store(*, acting_user, filename: str, content: bytes) -> InstitutionImport:
    """A large file (issue #14 item 3): read and stored with its report pending; the check job
    (institution_import_recheck) writes the report."""
    if not _may_import(acting_user):
        raise PermissionError("you may not import institutions")
    rows = upload_rows(filename, content, max_rows=MAX_ROWS)
    if not rows:
        raise ImportRefused(Msg(gettext_noop("the file has no rows")))
    with transaction.atomic():
        return InstitutionImport.objects.create(filename=filename[:200], rows=rows, preview={PENDING: True},
                                                uploaded_by=acting_user)


def institution_import_recheck(*, acting_user, upload: InstitutionImport, progress=None) -> dict:
    """The check's report of a stored file (the dry run on its rows); writes nothing."""
    if not _may_import(acting_user):
        raise PermissionError("you may not import institutions")
    rows = InstitutionImport.objects.get(pk=upload.pk).rows
    if progress is not None:
        progress(0, len(rows))

    def apply():
        with transaction.atomic():
            return _apply(acting_user=acting_user, rows=rows)

    return dry_run(apply)


@transaction.atomic
def institution_import_confirm(*, acting_user, upload: InstitutionImport, progress=None) -> InstitutionImport:
    """Import a checked file's rows (once; not before its check is done)."""
    if not _may_import(acting_user):
        raise PermissionError("you may not import institutions")
    upload = InstitutionImport.objects.select_for_update().get(pk=upload.pk)
    if upload.status != UploadStatus.CHECKED:
        raise ImportRefused(Msg(gettext_noop("this file is already imported")))
    if upload_pending(upload):
        raise ImportRefused(Msg(gettext_noop("this file is still being checked")))
    if progress is not None:
        progress(0, len(upload.rows))
    upload.result = _apply(acting_user=acting_user, rows=upload.rows)
    upload.status = UploadStatus.DONE
    upload.imported_at = timezone.now()
    upload.save(update_fields=["result", "status", "imported_at"])
    return upload


def report_for_display(report: dict) -> dict:
    """The stored report with each problem's field and message in the active language."""
    errors = []
    for e in report.get("errors", []):
        label = LABELS.get(e.get("field"))
        errors.append({**e, "field": str(label) if label else e.get("field"),
                       "message": Msg.from_json(e["message"]).localized() if isinstance(e.get("message"), dict)
                       else e.get("message")})
    changes = [{**c, "fields": "、".join(str(LABELS.get(f, f)) for f in c.get("fields", []))}
               for c in report.get("changes", [])]
    return {**report, "errors": errors, "changes": changes}


def _counts(report: dict) -> list:
    from django.utils.translation import gettext as _g

    return [(_g("rows"), report.get("total", len(report.get("changes", [])))), (_g("new"), report.get("created", 0)),
            (_g("updated"), report.get("updated", 0)), (_g("unchanged"), report.get("unchanged", 0)),
            (_g("rows with problems"), len(report.get("errors", [])))]


def _register_jobs():
    """The institution import's background jobs (medins.jobs; files above JOB_UPLOAD_THRESHOLD rows)."""
    from django.urls import reverse

    from ..uploads import upload_job_kinds

    return upload_job_kinds(
        "institution_import", model=InstitutionImport, label=_("Institution file"),
        start_permission="medins.add_institutionimport", view_permission="medins.view_institutionimport",
        may_view=None, check=institution_import_recheck, confirm=institution_import_confirm,
        page_url=lambda upload: reverse("admin:medins_institutionimport_change", args=[upload.pk]), counts=_counts)


INSTITUTION_IMPORT_CHECK, INSTITUTION_IMPORT_IMPORT = _register_jobs()
