"""Reading tax bureau payment files (CSV or XLSX) into validated rows.

Columns may carry English or the tax bureau's Chinese headers. Parsing is per row: a bad row
becomes a RowProblem naming the field, never an exception that stops the file. Files, amounts,
dates, flags and text are read with the one parser, medins.parsing (FileError is its own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.utils.translation import gettext_noop

from medins import parsing
from medins.parsing import FileError

from .idnumber import IdNumberError, check_id_number, mask, normalize
from .messages import Msg

COLUMNS = parsing.column_set(
    parsing.Column("receipt_number", "完税凭证号", ("票据号", "凭证号")),
    parsing.Column("id_number", "身份证号码", ("证件号码", "身份证号")),
    parsing.Column("name", "姓名"),
    parsing.Column("paid_on", "缴费日期", ("入库日期",)),
    parsing.Column("amount", "缴费金额", ("金额",)),
    parsing.Column("newborn_registration", "新生儿登记"),
)
REQUIRED = ("receipt_number", "id_number", "paid_on", "amount")
__all__ = ["COLUMNS", "REQUIRED", "FileError", "RowProblem", "TaxRow", "read_table", "row_error", "row_message", "row_parser"]


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


def read_table(filename: str, content: bytes) -> tuple[list[str], dict[str, int], Iterator[tuple[int, list[str]]]]:
    """(header, column index by field, iterator of (row number in the file, values)).

    The file is read by the one reader (medins.parsing.read_table: UTF-8 with or without BOM or
    GB18030 CSV, XLSX checked before openpyxl sees it) within the tax file limits
    (STAFF_IMPORT_MAX_BYTES, STAFF_IMPORT_MAX_ROWS): a tax bureau file of a city is far larger than a
    school's upload."""
    header, rows = parsing.read_table(filename, content, max_bytes=settings.STAFF_IMPORT_MAX_BYTES,
                                      max_rows=settings.STAFF_IMPORT_MAX_ROWS)
    return header, parsing.match_columns(header, COLUMNS, REQUIRED), rows


_FIELDS = ("receipt_number", "id_number", "name", "paid_on", "amount", "newborn_registration")


def _amount(raw: str) -> Decimal:
    try:
        return parsing.parse_money(raw, "amount", grouping=True)  # tax files write 1,234.50
    except parsing.ParseError as exc:
        raise RowProblem("amount", exc.message) from None


def row_parser(columns: dict[str, int]) -> Callable[[int, list[str]], TaxRow]:
    """parse(row number, values) -> TaxRow, raising RowProblem naming the field. Built once per
    file: the column positions are resolved here, not on every row."""
    positions = [columns.get(f) for f in _FIELDS]
    width = max(p for p in positions if p is not None) + 1
    padding = [""] * width
    dates: dict[str, dt.date] = {}  # a file has a few hundred distinct payment dates
    amounts: dict[str, Decimal] = {}
    latest = parsing.today()  # a payment is never dated in the future

    def parse(number: int, values: list[str]) -> TaxRow:
        if len(values) < width:
            values = [*values, *padding[len(values):]]
        receipt, raw_id, name, raw_date, raw_amount, flag = (
            (values[p] or "").strip() if p is not None else "" for p in positions)
        if not receipt:
            raise RowProblem("receipt_number", Msg(gettext_noop("required")))
        try:
            receipt = parsing.parse_text(receipt, "receipt_number", max_length=40)
            name = parsing.parse_text(name, "name", max_length=50)
        except parsing.ParseError as exc:
            raise RowProblem(exc.field, exc.message) from None
        try:
            id_number = check_id_number(raw_id)
        except IdNumberError as exc:
            raise RowProblem("id_number", Msg(gettext_noop("invalid ID number: %(reason)s"), reason=exc.args[0])) from None
        paid_on = dates.get(raw_date)
        if paid_on is None:
            try:
                paid_on = parsing.parse_date(raw_date, "paid_on", lenient=True, latest=latest)
            except parsing.ParseError as exc:
                raise RowProblem("paid_on", exc.message) from None
            if len(dates) < 10_000:
                dates[raw_date] = paid_on
        amount = amounts.get(raw_amount)
        if amount is None:
            amount = _amount(raw_amount)
            if len(amounts) < 10_000:
                amounts[raw_amount] = amount
        try:
            newborn = parsing.parse_bool(flag, "newborn_registration")
        except parsing.ParseError as exc:
            raise RowProblem("newborn_registration", exc.message) from None
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
