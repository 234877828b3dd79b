"""One way in for outside data: money, dates, text, yes/no flags and CSV/XLSX files.

DESIGN "One way in for outside data", issue 10 item 4 and issue 11 item 4. Every import and API
reads its values through these functions: the tax import, school batches (API and portal
upload), the settlement visits and sign-ups (API and admin upload), the bank result import,
case intake, and the quote engine's request amounts. A bad value raises `ParseError` naming the
field (and the row, when the caller passes one): never `decimal.InvalidOperation`, a bare
`ValueError` or one of openpyxl's many exceptions. `ParseError` is an `InvalidRequest`, so the
engine and the settlement API answer it like any other 400; the claims services wrap it in
their own `InvalidCase`; per-row callers turn it into that row's error and go on with the next.

Pure Python at import time (the benefit engine uses the money parser and imports no Django);
settings and timezone are read inside the few functions that need them.

Decisions (where the issues are silent):
- Money: a decimal string ("1234", "1234.5", "1234.50", no spaces around it) or a JSON integer; at most 12 integer
  digits and 2 decimal places (DecimalField(max_digits=14, decimal_places=2)); never negative;
  always returned with two places. Refused: NaN, Infinity, exponents ("1e30"), signs, floats (a
  JSON number with a fraction loses cents), booleans (True is an int in Python), objects.
  Thousands separators ("1,234.50") only where the caller says its files use them (tax files).
- Dates: ISO "YYYY-MM-DD" (or a date object); files may also write "YYYY/M/D" and a time of day
  after the date (Excel). Every date lies in 1900-01-01 … 2099-12-31; callers narrow that (a
  service date is never in the future and lies within the region's policy versions, see
  claims.services.cases).
- Text: a string (a number only where the caller allows it, e.g. a row id); no NUL or other
  control characters (tab and newlines only in multi-line text); at most the model field's
  max_length; surrounding spaces stripped.
- Yes/no: true/false, 1/0, yes/no, y/n, 是/否 (any case) or a JSON boolean; anything else is
  refused — "false" is never read as true.
- Bank accounts: digits only (spaces and hyphens dropped), 8 to 32 of them. A formula such as
  =HYPERLINK(...) is therefore refused where it comes in.
- Files: .csv/.txt (UTF-8 with or without BOM, else GB18030) or .xlsx (checked to be a ZIP
  workbook before openpyxl sees it; a damaged one is a FileError, even half-way through);
  at most UPLOAD_MAX_BYTES bytes and UPLOAD_MAX_ROWS data rows unless the caller gives other
  limits (staff imports of tax files do); at most MAX_COLUMNS columns are read.
- Columns (issue 14 item 4): each importer declares its columns once (`Column`: the English name,
  the Chinese header, other accepted headers); a file may use either, and the sample files use the
  Chinese headers. A missing column is named by both ("missing column(s): 身份证号 (id_number)").
  A refusal names its field by the header of the importer at hand (`field_label(field, columns)`):
  the same field name may mean different things in two importers ("name": 姓名, 机构名称).
- Cells written to CSV/XLSX exports (`safe_cell`): text starting with = + - @ tab or CR gets a
  leading apostrophe, so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .benefits.errors import InvalidRequest
from .messages import Msg


def gettext_noop(message: str) -> str:
    """Marks a message for makemessages without importing Django (the engine imports this module)."""
    return message


DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)
MONEY_MAX = Decimal("999999999999.99")  # max_digits=14, decimal_places=2
MAX_COLUMNS = 200
_REQUIRED: Any = object()
_MONEY_RE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FILE_DATE_RE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE_RE = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = frozenset({"1", "true", "yes", "y", "t", "是"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "否"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ParseError(InvalidRequest):
    """A value that cannot be read: names the field, the row where known, and why (a Msg); `localized()`
    (InvalidRequest's) gives "甲类费用: 必填" to a Chinese reader."""

    def __init__(self, field: str, message: Msg | str, *, row: int | None = None):
        super().__init__(field, message)
        self.message = message if isinstance(message, Msg) else Msg(message)
        self.row = row

    def as_dict(self) -> dict:
        out = super().as_dict()
        if self.row is not None:
            out["row"] = self.row
        return out


class FileError(ParseError):
    """The file as a whole cannot be read (format, encoding, size, too many rows)."""

    def __init__(self, message: Msg | str):
        super().__init__("file", message)
        self.args = (self.message,)  # the message alone: "the file is empty", not "file: the file is empty"

    def localized(self, columns=None) -> str:
        return self.message.localized()


def _shown(value: Any) -> str:
    """A bad value as quoted in a message: short, and never an object's whole repr."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, (int, float, Decimal)) else type(value).__name__
    text = _CONTROL_OR_NEWLINE_RE.sub("?", text)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


# --------------------------------------------------------------------------- money


def _two_places(text: str) -> Decimal:
    dot = text.find(".")
    if dot < 0:
        return Decimal(text + ".00")
    if len(text) - dot == 2:
        return Decimal(text + "0")
    return Decimal(text)


def _money_problem(value: Any) -> Msg:
    """Why a value is not an amount (only on the error path: classifying costs a Decimal())."""
    if isinstance(value, bool):
        return Msg(gettext_noop("must be an amount, not true/false"))
    if isinstance(value, float):
        return Msg(gettext_noop("must be a decimal string, not a number with a fraction (floats lose cents)"))
    if not isinstance(value, (str, int, Decimal)):
        return Msg(gettext_noop("must be an amount such as \"1234.50\", not %(value)s"), value=_shown(value))
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        number = None
    if isinstance(value, str) and value != value.strip():
        return Msg(gettext_noop("%(value)s has spaces around the amount"), value=_shown(value))
    if number is None:
        return Msg(gettext_noop("%(value)s is not an amount (write it like \"1234.50\")"), value=_shown(value))
    if not number.is_finite():
        return Msg(gettext_noop("%(value)s is not a finite amount"), value=_shown(value))
    if number < 0:
        return Msg(gettext_noop("must not be negative"))
    if number > MONEY_MAX:
        return Msg(gettext_noop("%(value)s is larger than the largest amount, 999999999999.99"), value=_shown(value))
    if number != number.quantize(Decimal("0.01")):
        return Msg(gettext_noop("%(value)s has more than 2 decimal places"), value=_shown(value))
    return Msg(gettext_noop("%(value)s is not an amount (write it like \"1234.50\")"), value=_shown(value))


def parse_money(value: Any, field: str, *, row: int | None = None, default: Any = _REQUIRED,
                grouping: bool = False) -> Decimal:
    """A non-negative amount with two decimal places; `default` for None or "" (else it is required)."""
    kind = type(value)
    if kind is str:
        text = value
        if grouping and "," in text:
            text = text.replace(",", "")
        if _MONEY_RE.fullmatch(text):
            return _two_places(text)
        if not text:
            if default is not _REQUIRED:
                return default
            raise ParseError(field, Msg(gettext_noop("is required")), row=row)
        raise ParseError(field, _money_problem(value), row=row)
    if kind is int:  # bool is a subclass of int but not this exact type
        if 0 <= value <= MONEY_MAX:
            return Decimal(f"{value}.00")
    elif kind is Decimal:
        if value.is_finite() and 0 <= value <= MONEY_MAX and value == value.quantize(Decimal("0.01")):
            return value.quantize(Decimal("0.01"))
    elif value is None:
        if default is not _REQUIRED:
            return default
        raise ParseError(field, Msg(gettext_noop("is required")), row=row)
    raise ParseError(field, _money_problem(value), row=row)


# --------------------------------------------------------------------------- dates


def parse_date(value: Any, field: str, *, row: int | None = None, earliest: dt.date | None = None,
               latest: dt.date | None = None, default: Any = _REQUIRED, lenient: bool = False) -> dt.date:
    """An ISO date (files: also YYYY/M/D and a time after it) within [earliest, latest] ⊆ 1900 … 2099."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            if default is not _REQUIRED:
                return default
            raise ParseError(field, Msg(gettext_noop("is required")), row=row)
        match = (_FILE_DATE_RE if lenient else _ISO_DATE_RE).fullmatch(text)
        if match is None:
            raise ParseError(field, Msg(gettext_noop("%(value)s is not a date YYYY-MM-DD"), value=_shown(value)), row=row)
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise ParseError(field, Msg(gettext_noop("%(value)s is not a real calendar date"), value=_shown(value)),
                             row=row) from None
    elif value is None and default is not _REQUIRED:
        return default
    elif value is None:
        raise ParseError(field, Msg(gettext_noop("is required")), row=row)
    else:
        raise ParseError(field, Msg(gettext_noop("must be a date YYYY-MM-DD, not %(value)s"), value=_shown(value)), row=row)
    low = max(earliest, DATE_MIN) if earliest else DATE_MIN
    high = min(latest, DATE_MAX) if latest else DATE_MAX
    if not low <= day <= high:
        raise ParseError(field, Msg(gettext_noop("%(date)s is outside the accepted range %(earliest)s to %(latest)s"),
                                    date=day.isoformat(), earliest=low.isoformat(), latest=high.isoformat()), row=row)
    return day


def today() -> dt.date:
    """Today in the project's time zone (the latest service date)."""
    from django.utils import timezone

    return timezone.localdate()


# --------------------------------------------------------------------------- text, flags, accounts


def max_length(model, field_name: str) -> int:
    """The max_length of a model's CharField: the bound every string read for it is held to."""
    return model._meta.get_field(field_name).max_length


def parse_text(value: Any, field: str, *, max_length: int | None, row: int | None = None, required: bool = False,
               numbers: bool = False, multiline: bool = False) -> str:
    """Stripped text of at most max_length characters without control characters ("" for None)."""
    if value is None:
        text = ""
    elif type(value) is str:
        text = value.strip()
    elif numbers and type(value) is int:
        text = str(value)
    else:
        raise ParseError(field, Msg(gettext_noop("must be text, not %(value)s"), value=_shown(value)), row=row)
    if (_CONTROL_RE if multiline else _CONTROL_OR_NEWLINE_RE).search(text):
        raise ParseError(field, Msg(gettext_noop("contains control characters (such as NUL)")), row=row)
    if max_length is not None and len(text) > max_length:
        raise ParseError(field, Msg(gettext_noop("is longer than %(max)s characters"), max=max_length), row=row)
    if required and not text:
        raise ParseError(field, Msg(gettext_noop("is required")), row=row)
    return text


def parse_bool(value: Any, field: str, *, row: int | None = None, default: bool = False) -> bool:
    """true/false, 1/0, yes/no, 是/否 or a JSON boolean; None or "" is `default`; anything else is refused."""
    if value is True or value is False:
        return value
    if value is None:
        return default
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str:
        text = value.strip().lower()
        if not text:
            return default
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ParseError(field, Msg(gettext_noop("%(value)s is not a yes/no value (true/false, 是/否)"), value=_shown(value)),
                     row=row)


def parse_bank_account(value: Any, field: str = "bank_account", *, row: int | None = None, required: bool = False) -> str:
    """8 to 32 digits (spaces and hyphens dropped); "" when absent and not required."""
    text = parse_text(value, field, max_length=64, row=row, numbers=True)
    digits = text.replace(" ", "").replace("-", "")
    if not digits:
        if required:
            raise ParseError(field, Msg(gettext_noop("is required")), row=row)
        return ""
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 32):
        raise ParseError(field, Msg(gettext_noop("%(value)s is not a bank account number (8 to 32 digits)"),
                                    value=_shown(text)), row=row)
    return digits


# --------------------------------------------------------------------------- exports


def safe_cell(value: Any) -> Any:
    """A value for a CSV/XLSX cell: text a spreadsheet would run as a formula is prefixed with '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list:
    return [safe_cell(v) for v in values]


# --------------------------------------------------------------------------- files


def _limit(name: str, given: int | None) -> int:
    if given is not None:
        return given
    from django.conf import settings

    return getattr(settings, name)


def _size_error(max_bytes: int) -> FileError:
    return FileError(Msg(gettext_noop("the file is larger than %(mb)s MB"), mb=f"{max_bytes / (1024 * 1024):g}"))


def read_upload(upload, *, max_bytes: int | None = None) -> bytes:
    """The content of an uploaded file, refused before it is read when it is larger than the limit."""
    max_bytes = _limit("UPLOAD_MAX_BYTES", max_bytes)
    if upload.size is not None and upload.size > max_bytes:
        raise _size_error(max_bytes)
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _size_error(max_bytes)
    return content


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, ".15g")  # what Excel shows: 0.1 + 0.2 reads 0.3, not 0.30000000000000004
    return str(value)


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError(Msg(gettext_noop("the CSV file is neither UTF-8 nor GB18030 text")))


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileError(Msg(gettext_noop("the CSV file cannot be read at line %(line)s: %(error)s"),
                                line=reader.line_num, error=str(exc))) from None
        yield [v.strip() for v in values[:MAX_COLUMNS]]


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    if not content.startswith(b"PK\x03\x04"):
        raise FileError(Msg(gettext_noop("not an XLSX workbook (save the file as .xlsx or .csv)")))
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, KeyError …) for a damaged file
        raise FileError(Msg(gettext_noop("not a readable XLSX workbook (the file is damaged)"))) from None
    try:
        sheets = book.worksheets
        if not sheets or not hasattr(sheets[0], "iter_rows"):
            raise FileError(Msg(gettext_noop("the workbook has no worksheet")))
        try:
            for values in sheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True):
                yield [_cell(v) for v in values]
        except FileError:
            raise
        except Exception:  # read_only workbooks parse while they are read
            raise FileError(Msg(gettext_noop("not a readable XLSX workbook (the file is damaged)"))) from None
    finally:
        book.close()


class Table(NamedTuple):
    """A file's header (stripped) and its non-blank data rows as (line number in the file, values)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def read_table(filename: str, content: bytes, *, max_bytes: int | None = None, max_rows: int | None = None) -> Table:
    """A CSV or XLSX file as a Table. Rows are read lazily; a file with more than max_rows data
    rows, or a workbook found damaged half-way, raises FileError when that row is reached."""
    max_bytes = _limit("UPLOAD_MAX_BYTES", max_bytes)
    max_rows = _limit("UPLOAD_MAX_ROWS", max_rows)
    if len(content) > max_bytes:
        raise _size_error(max_bytes)
    name = (filename or "").lower()
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        lines = _xlsx_rows(content)
    elif name.endswith(".csv") or name.endswith(".txt"):
        lines = _csv_rows(content)
    elif name.endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError(Msg(gettext_noop("old .xls workbooks are not read: save the file as .xlsx or .csv")))
    elif content.startswith(b"PK\x03\x04"):
        lines = _xlsx_rows(content)
    elif "." in name.rsplit("/", 1)[-1]:
        raise FileError(Msg(gettext_noop("upload a .csv or .xlsx file")))
    else:
        lines = _csv_rows(content)
    header = next(lines, None)
    if not header or not any(header):
        raise FileError(Msg(gettext_noop("the file is empty")))

    def numbered() -> Iterator[tuple[int, list[str]]]:
        count = 0
        for number, values in enumerate(lines, start=2):
            if not any(values):
                continue
            count += 1
            if count > max_rows:
                raise FileError(Msg(gettext_noop("the file has more than %(max)s rows"), max=max_rows))
            yield number, values

    return Table(header, numbered())


class Column(NamedTuple):
    """A column of an uploaded file (issue 14 item 4): its English name (the field's name, the API's
    key, accepted as a header), its Chinese header (what the sample files and a clerk's own files use)
    and any other header accepted for it. Headers are compared stripped and case-insensitively."""

    name: str
    label: str
    aliases: tuple[str, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, self.label, *self.aliases)

    def shown(self) -> str:
        """How a message names the column: its Chinese header, then its English one."""
        return f"{self.label} ({self.name})"


_HEADERS: dict[str, set[str]] = {}  # field name -> the Chinese headers importers give it


def column_set(*columns: Column) -> dict[str, Column]:
    """{name: column} in the file's usual order; the Chinese headers also name the fields in errors."""
    for c in columns:
        _HEADERS.setdefault(c.name, set()).add(c.label)
    return {c.name: c for c in columns}


def field_label(field: str, columns: dict[str, Column] | None = None) -> str:
    """A field as a reader of the active language names it. For a Chinese reader: the header of the
    importer at hand (`columns`: "name" is 姓名 in a school batch, 机构名称 in an institution file),
    else the shared name of the field (medins.field_names), else the header every importer that
    declares the field agrees on; a field two importers head differently and no shared name covers
    is left as it is rather than named by the wrong one. "invoices[0].kind" → 发票[0].kind."""
    from django.utils.translation import get_language

    if not (get_language() or "").startswith("zh"):
        return field
    base, sep, rest = field.partition("[")
    if columns and base in columns:
        return f"{columns[base].label}{sep}{rest}"
    from .field_names import FIELD_NAMES

    if base in FIELD_NAMES:
        return f"{FIELD_NAMES[base]}{sep}{rest}"
    headers = _HEADERS.get(base, ())
    if len(headers) == 1:
        return f"{next(iter(headers))}{sep}{rest}"
    return field


def _as_column(name: str, spec) -> Column:
    if isinstance(spec, Column):
        return spec
    aliases = tuple(a for a in spec if a != name)
    label = next((a for a in aliases if not a.isascii()), name)
    return Column(name, label, tuple(a for a in aliases if a != label))


def header_fields(header: Iterable[str], columns) -> dict[str, str]:
    """{file header: field name} for the headers that name a column (first match wins per field)."""
    lookup: dict[str, str] = {}
    for name, spec in columns.items():
        for alias in _as_column(name, spec).headers:
            lookup.setdefault(alias.strip().lower(), name)
    out, taken = {}, set()
    for h in header:
        field = lookup.get(str(h).strip().lower()) if h else None
        if field and field not in taken:
            out[h] = field
            taken.add(field)
    return out


def missing_columns(columns, missing: Iterable[str]) -> FileError:
    """The one wrong-header message every importer gives: "missing column(s): 身份证号 (id_number); …"."""
    shown = [_as_column(f, columns[f]).shown() if f in columns else f for f in missing]
    return FileError(Msg(gettext_noop("missing column(s): %(columns)s"), columns=shown))


def match_columns(header: list[str], columns, required: Iterable[str]) -> dict[str, int]:
    """The index of each field's column in a header, by its English name, its Chinese header or an
    alias (case and spaces ignored). A required field without a column is a FileError with the one
    wrong-header message every importer gives (`missing_columns`)."""
    fields = header_fields(header, columns)
    found = {field: header.index(h) for h, field in fields.items()}
    missing = [f for f in required if f not in found]
    if missing:
        raise missing_columns(columns, missing)
    return found


def rename_records(records: list[dict], columns, required: Iterable[str] = (), *,
                   keep: Iterable[str] = ("_line",)) -> list[dict]:
    """Records keyed by the file's headers → keyed by field name (Chinese or English headers alike);
    headers that name no column are dropped, keys in `keep` (the line number) kept. A required
    column the file lacks is a FileError (`missing_columns`)."""
    keep = tuple(keep)
    header = [k for k in (records[0] if records else {}) if k not in keep]
    fields = header_fields(header, columns)
    missing = [f for f in required if f not in fields.values()]
    if missing and records:
        raise missing_columns(columns, missing)
    return [{**{fields[h]: v for h, v in r.items() if h in fields}, **{k: r[k] for k in keep if k in r}}
            for r in records]


def read_records(filename: str, content: bytes, *, max_bytes: int | None = None, max_rows: int | None = None,
                 line_key: str | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """(header, one dict per data row keyed by the header) — the line number under `line_key` if given."""
    header, rows = read_table(filename, content, max_bytes=max_bytes, max_rows=max_rows)
    records = []
    for number, values in rows:
        record = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
        if line_key:
            record[line_key] = number
        records.append(record)
    return header, records
