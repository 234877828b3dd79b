"""Reading tax bureau payment files (CSV or XLSX) into validated rows.

Columns may carry English or the tax bureau's Chinese headers. Parsing is per row: a bad row
becomes a RowProblem naming the field, never an exception that stops the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.utils.translation import gettext_noop

from .idnumber import IdNumberError, check_id_number, mask, normalize
from .messages import Msg

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


class TaxRow(NamedTuple):
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
        raise FileError(Msg(gettext_noop("the CSV file is neither UTF-8 nor GB18030 text")))
    for values in csv.reader(io.StringIO(text, newline="")):
        yield [v.strip() for v in values]


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileError(Msg(gettext_noop("not a readable XLSX workbook: %(error)s"), error=str(exc))) from exc
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
        raise FileError(Msg(gettext_noop("upload a .csv or .xlsx file")))
    header = next(rows, None)
    if not header:
        raise FileError(Msg(gettext_noop("the file is empty")))
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
        raise FileError(Msg(gettext_noop("missing column(s): %(columns)s"), columns=expected))

    def numbered():
        for number, values in enumerate(rows, start=2):
            if any(values):
                yield number, values

    return header, columns, numbered()


_FIELDS = ("receipt_number", "id_number", "name", "paid_on", "amount", "newborn_registration")
_FLAGS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_CENT = Decimal("0.01")


def _amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise RowProblem("amount", Msg(gettext_noop("'%(value)s' is not an amount"), value=raw)) from None
    try:
        exact = amount.is_finite() and amount >= 0 and amount == amount.quantize(_CENT)
    except InvalidOperation:  # too many digits to quantize (e.g. 1E+40)
        exact = False
    if not exact:
        raise RowProblem("amount", Msg(gettext_noop("'%(value)s' is not an amount in yuan and fen"), value=raw))
    return amount.quantize(_CENT)


def row_parser(columns: dict[str, int]) -> Callable[[int, list[str]], TaxRow]:
    """parse(row number, values) -> TaxRow, raising RowProblem naming the field. Built once per
    file: the column positions are resolved here, not on every row."""
    positions = [columns.get(f) for f in _FIELDS]
    width = max(p for p in positions if p is not None) + 1
    padding = [""] * width
    dates: dict[str, dt.date] = {}  # a file has a few hundred distinct payment dates
    amounts: dict[str, Decimal] = {}

    def parse(number: int, values: list[str]) -> TaxRow:
        if len(values) < width:
            values = [*values, *padding[len(values):]]
        receipt, raw_id, name, raw_date, raw_amount, flag = (
            (values[p] or "").strip() if p is not None else "" for p in positions)
        if not receipt:
            raise RowProblem("receipt_number", Msg(gettext_noop("required")))
        if len(receipt) > 40:
            raise RowProblem("receipt_number", Msg(gettext_noop("longer than 40 characters")))
        try:
            id_number = check_id_number(raw_id)
        except IdNumberError as exc:
            raise RowProblem("id_number", Msg(gettext_noop("invalid ID number: %(reason)s"), reason=exc.args[0])) from None
        paid_on = dates.get(raw_date)
        if paid_on is None:
            try:
                paid_on = dt.date.fromisoformat(raw_date.replace("/", "-")[:10])
            except ValueError:
                raise RowProblem("paid_on", Msg(gettext_noop("'%(value)s' is not a date YYYY-MM-DD"), value=raw_date)) from None
            if len(dates) < 10_000:
                dates[raw_date] = paid_on
        amount = amounts.get(raw_amount)
        if amount is None:
            amount = _amount(raw_amount)
            if len(amounts) < 10_000:
                amounts[raw_amount] = amount
        newborn = _FLAGS.get(flag.lower())
        if newborn is None:
            raise RowProblem("newborn_registration",
                             Msg(gettext_noop("'%(value)s': expected 是/否 or true/false"), value=flag.lower()))
        return TaxRow(number, receipt, id_number, name, paid_on, amount, newborn)

    return parse


def parse_row(number: int, values: list[str], columns: dict[str, int]) -> TaxRow:
    return row_parser(columns)(number, values)


def row_error(number: int, field: str, message: str, values: list[str] | None, columns: dict[str, int],
              header: list[str], **extra) -> dict:
    """A row's problem as shown to the clerk and stored on the import; the ID number masked.

    `message` is the English text; a Msg is also kept as `message_i18n` so the admin shows it in
    the reader's language (`row_message`)."""
    def raw(f):
        i = columns.get(f)
        return values[i] if values is not None and i is not None and i < len(values) else ""

    column = header[columns[field]] if field in columns else field
    error = {
        "row": number, "field": field, "column": column, "message": str.__str__(message),
        "receipt_number": raw("receipt_number"), "id_number": mask(normalize(raw("id_number"))), **extra,
    }
    if isinstance(message, Msg):
        error["message_i18n"] = message.as_json()
    return error


def row_message(error: dict) -> str:
    """A stored row problem in the active language."""
    data = error.get("message_i18n")
    return Msg.from_json(data).localized() if data else error.get("message", "")
