"""Reading uploaded visit and sign-up files into row dicts, through the one file reader
(medins.parsing.read_records: CSV in UTF-8 with or without BOM or GB18030, or XLSX; size and row
limits). A file that cannot be read raises medins.parsing.FileError, an InvalidRequest on "file".

The columns (issue 14 item 4): the API's field names or the Chinese headers of the sample files
(samples/settlement_visits.csv, samples/settlement_signups.csv); rows come back keyed by field name."""

from __future__ import annotations

from medins.parsing import Column, column_set, read_records, rename_records

VISIT_COLUMNS = ("visit_id", "id_number", "service_date", "class_a", "class_b", "class_c")
COLUMNS = {
    "visits": column_set(
        Column("visit_id", "就诊流水号", ("就诊编号", "流水号")),
        Column("id_number", "身份证号", ("身份证号码", "公民身份号码")),
        Column("service_date", "就诊日期", ("服务日期",)),
        Column("class_a", "甲类费用", ("甲类",)),
        Column("class_b", "乙类费用", ("乙类",)),
        Column("class_c", "丙类费用", ("丙类", "自费费用")),
        Column("benefit", "待遇类别"),
        Column("item_code", "病种或药品编码", ("病种编码", "药品编码")),
    ),
    # direct inpatient stays: one row per itemised line, the stay's columns repeated (services/stays.py)
    "stays": column_set(
        Column("stay_id", "住院号", ("住院流水号",)),
        Column("id_number", "身份证号", ("身份证号码", "公民身份号码")),
        Column("admitted", "入院日期"),
        Column("discharged", "出院日期"),
        Column("diagnosis", "出院诊断编码", ("诊断编码", "ICD-10")),
        Column("level", "医院等级"),
        Column("transfer", "转院"),
        Column("line_date", "费用日期"),
        Column("line_item", "项目编码"),
        Column("line_kind", "费用类别"),
        Column("line_quantity", "数量"),
        Column("line_amount", "金额"),
        Column("line_class", "甲乙丙类"),
    ),
    "signups": column_set(
        Column("id_number", "身份证号", ("身份证号码", "公民身份号码")),
        Column("signed_on", "签约日期"),
    ),
}
REQUIRED = {"visits": ("visit_id", "id_number", "service_date", "class_a"), "signups": ("id_number",),
            "stays": ("stay_id", "id_number", "admitted", "discharged", "diagnosis", "line_date", "line_item", "line_kind",
                      "line_amount", "line_class")}


def read_rows(name: str, content: bytes, *, max_rows: int | None = None, kind: str | None = None) -> list[dict]:
    """One dict per data row; at most max_rows rows (default UPLOAD_MAX_ROWS). With `kind` ("visits"
    or "signups") the rows are keyed by field name whichever headers the file uses, and a required
    column the file lacks is a FileError naming it; without, by the file's own headers."""
    _header, rows = read_records(name, content, max_rows=max_rows)
    if kind is None:
        return rows
    return rename_records(rows, COLUMNS[kind], REQUIRED[kind])
