"""Reading tax bureau payment files (CSV or XLSX) into validated rows.

Columns may carry English or the tax bureau's Chinese headers. Parsing is per row: a bad row
becomes a RowProblem naming the field, never an exception that stops the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .idnumber import IdNumberError, mask, normalize, parse_id_number

COLUMNS: dict[str, tuple[str, ...]] = {
    "receipt_number": ("receipt_number", "完税凭证号", "票据号", "凭证号"),
    "id_number": ("id_number", "身份证号码", "证件号码", "身份证号"),
    "name": ("name", "姓名"),
    "paid_on": ("paid_on", "缴费日期", "入库日期"),
    "amount": ("amount", "缴费金额", "金额"),
    "newborn_registration": ("newborn_registration", "新生儿登记"),
}
REQUIRED = ("receipt_number", "id_number", "paid_on", "amount")
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"", "0", "false", "no", "n", "否"}


class FileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns)."""


class RowProblem(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TaxRow:
    row: int
    receipt_number: str
    id_number: str
    name: str
    paid_on: dt.date
    amount: Decimal
    newborn_registration: bool


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise FileError("the CSV file is neither UTF-8 nor GB18030 text")
    for values in csv.reader(io.StringIO(text, newline="")):
        yield [v.strip() for v in values]


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileError(f"not a readable XLSX workbook: {exc}") from exc
    try:
        for values in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        book.close()


def read_table(filename: str, content: bytes) -> tuple[list[str], dict[str, int], Iterator[tuple[int, list[str]]]]:
    """(header, column index by field, iterator of (row number in the file, values))."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        rows = _xlsx_rows(content)
    elif name.endswith(".csv") or name.endswith(".txt"):
        rows = _csv_rows(content)
    else:
        raise FileError("upload a .csv or .xlsx file")
    header = next(rows, None)
    if not header:
        raise FileError("the file is empty")
    lookup = {h.strip().lower(): i for i, h in enumerate(header) if h}
    columns = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in lookup:
                columns[field] = lookup[alias.lower()]
                break
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        expected = "; ".join(f"{f} ({'/'.join(COLUMNS[f][1:])})" for f in missing)
        raise FileError(f"missing column(s): {expected}")

    def numbered():
        for number, values in enumerate(rows, start=2):
            if any(values):
                yield number, values

    return header, columns, numbered()


def parse_row(number: int, values: list[str], columns: dict[str, int]) -> TaxRow:
    def get(field: str) -> str:
        index = columns.get(field)
        return values[index].strip() if index is not None and index < len(values) and values[index] else ""

    receipt = get("receipt_number")
    if not receipt:
        raise RowProblem("receipt_number", "required")
    if len(receipt) > 40:
        raise RowProblem("receipt_number", "longer than 40 characters")
    raw_id = get("id_number")
    try:
        id_number = parse_id_number(raw_id).value
    except IdNumberError as exc:
        raise RowProblem("id_number", f"invalid ID number: {exc}") from None
    raw_date = get("paid_on").replace("/", "-")[:10]
    try:
        paid_on = dt.date.fromisoformat(raw_date)
    except ValueError:
        raise RowProblem("paid_on", f"{get('paid_on')!r} is not a date YYYY-MM-DD") from None
    try:
        amount = Decimal(get("amount").replace(",", ""))
    except InvalidOperation:
        raise RowProblem("amount", f"{get('amount')!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise RowProblem("amount", f"{get('amount')!r} is not an amount in yuan and fen")
    flag = get("newborn_registration").lower()
    if flag not in _TRUE | _FALSE:
        raise RowProblem("newborn_registration", f"{flag!r}: expected 是/否 or true/false")
    return TaxRow(number, receipt, id_number, get("name"), paid_on, amount.quantize(Decimal("0.01")), flag in _TRUE)


def row_error(number: int, field: str, message: str, values: list[str] | None, columns: dict[str, int],
              header: list[str], **extra) -> dict:
    """A row's problem as shown to the clerk and stored on the import; the ID number masked."""
    def raw(f):
        i = columns.get(f)
        return values[i] if values is not None and i is not None and i < len(values) else ""

    column = header[columns[field]] if field in columns else field
    return {
        "row": number, "field": field, "column": column, "message": message,
        "receipt_number": raw("receipt_number"), "id_number": mask(normalize(raw("id_number"))), **extra,
    }
