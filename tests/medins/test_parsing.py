"""The one parser for outside data (medins.parsing; issue 10 item 4, issue 11 item 4, DESIGN "One way in")."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook

from medins.parsing import (
    FileError,
    ParseError,
    parse_bank_account,
    parse_bool,
    parse_date,
    parse_money,
    parse_text,
    read_records,
    safe_cell,
)


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "1e30", "1E+40", "-1", "1.234", "12,5", " 12",
                                   "", None, True, False, 1.5, {"a": 1}, [1], 10**13, Decimal("NaN"), "9999999999999"])
def test_bad_amounts_are_a_parse_error_naming_the_field(value):
    """Issue 10 finding 4: NaN (and friends) is a refusal naming the field, never InvalidOperation."""
    with pytest.raises(ParseError) as exc:
        parse_money(value, "class_a", row=7)
    assert exc.value.field == "class_a" and exc.value.row == 7 and str(exc.value).startswith("class_a: ")


@pytest.mark.parametrize(("value", "expected"), [("0", "0.00"), ("12.5", "12.50"), ("999999999999.99", "999999999999.99"),
                                                 (12, "12.00"), (Decimal("3.10"), "3.10")])
def test_good_amounts_have_two_places(value, expected):
    assert str(parse_money(value, "a")) == expected


def test_thousands_separators_only_where_the_caller_allows_them():
    assert parse_money("1,234.50", "amount", grouping=True) == Decimal("1234.50")
    with pytest.raises(ParseError):
        parse_money("1,234.50", "amount")


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "2021-02-30", "20210510", 20210510, {"d": 1}])
def test_dates_outside_the_sane_window_or_malformed_are_refused(value):
    """Issue 11 finding 10: service dates 0001-01-01 and 9999-12-31 are refused."""
    with pytest.raises(ParseError) as exc:
        parse_date(value, "service_from")
    assert exc.value.field == "service_from"


def test_dates_within_the_callers_window():
    assert parse_date("2021/3/1 00:00:00", "paid_on", lenient=True) == dt.date(2021, 3, 1)
    with pytest.raises(ParseError):
        parse_date("2021-03-02", "d", latest=dt.date(2021, 3, 1))


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("False", False), ("0", False), ("否", False), ("", False),
                                                 (None, False), ("true", True), ("是", True), (True, True), (1, True)])
def test_flags(value, expected):
    """Issue 11 finding 10: "false" is false (it was stored as true)."""
    assert parse_bool(value, "lost_invoice_promise") is expected


@pytest.mark.parametrize("value", ["maybe", "2", {"x": 1}, 2])
def test_unknown_flags_are_refused(value):
    with pytest.raises(ParseError):
        parse_bool(value, "lost_invoice_promise")


@pytest.mark.parametrize("value", ["a\x00b", "x" * 121, {"k": "v"}, ["a"], 12])
def test_text_without_nul_within_max_length_and_not_an_object(value):
    """Issue 11 finding 6/10: NUL bytes, over-long strings and objects where strings are expected."""
    with pytest.raises(ParseError):
        parse_text(value, "institution_name", max_length=120)


def test_bank_account_is_digits():
    """Issue 11 finding 10: =HYPERLINK(...) as a bank account is refused at input."""
    assert parse_bank_account("6222 0202-0011 2345 678") == "6222020200112345678"
    for bad in ['=HYPERLINK("http://x","y")', "+123456789", "12345", "1" * 33]:
        with pytest.raises(ParseError):
            parse_bank_account(bad)


def test_export_cells_are_neutralised_against_formulas():
    """Issue 11 item 4: a cell starting with = + - @ tab or CR is written as text."""
    assert [safe_cell(v) for v in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", Decimal("-1.00"), 3]] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok", Decimal("-1.00"), 3]


def test_csv_in_utf8_with_bom_and_gb18030():
    text = "id_number,name\n220102199001011234,张三\n"
    for content in (b"\xef\xbb\xbf" + text.encode(), text.encode("gb18030")):
        header, rows = read_records("x.csv", content)
        assert header == ["id_number", "name"] and rows[0]["name"] == "张三"


@pytest.mark.parametrize("content", [b"not a workbook", b"PK\x03\x04 broken zip", b""])
def test_a_non_workbook_xlsx_is_a_file_error(content):
    """Issue 11 finding 6: a non-workbook XLSX is a clear error, not a 500."""
    with pytest.raises(FileError):
        read_records("visits.xlsx", content)


def test_a_zip_that_is_not_a_workbook_is_a_file_error():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(FileError):
        read_records("x.xlsx", buffer.getvalue())


def test_xlsx_cells_read_as_excel_shows_them():
    book = Workbook()
    book.active.append(["service_date", "class_a", "n"])
    book.active.append([dt.datetime(2021, 3, 1), 0.1 + 0.2, 800])
    out = io.BytesIO()
    book.save(out)
    _header, rows = read_records("x.xlsx", out.getvalue())
    assert rows == [{"service_date": "2021-03-01", "class_a": "0.3", "n": "800"}]


def test_size_and_row_limits():
    """Issue 11 finding 7: uploads are bounded in bytes and rows."""
    content = ("a\n" + "1\n" * 11).encode()
    with pytest.raises(FileError, match="more than 10 rows"):
        read_records("x.csv", content, max_rows=10)
    with pytest.raises(FileError, match="larger than"):
        read_records("x.csv", content, max_bytes=10)
