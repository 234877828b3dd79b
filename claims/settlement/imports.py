"""Reading uploaded visit and sign-up files into row dicts, through the one file reader
(medins.parsing.read_records: CSV in UTF-8 with or without BOM or GB18030, or XLSX; size and row
limits). A file that cannot be read raises medins.parsing.FileError, an InvalidRequest on "file"."""

from __future__ import annotations

from medins.parsing import read_records

VISIT_COLUMNS = ("visit_id", "id_number", "service_date", "class_a", "class_b", "class_c")


def read_rows(name: str, content: bytes, *, max_rows: int | None = None) -> list[dict]:
    """One dict per data row (header → text); at most max_rows rows (default UPLOAD_MAX_ROWS)."""
    _header, rows = read_records(name, content, max_rows=max_rows)
    return rows
