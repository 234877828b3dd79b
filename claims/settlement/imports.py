"""Reading uploaded visit and sign-up files (CSV, UTF-8 with or without BOM, or XLSX) into row dicts."""

from __future__ import annotations

import csv
import io

from .errors import InvalidRequest

VISIT_COLUMNS = ("visit_id", "id_number", "service_date", "class_a", "class_b", "class_c")


def read_rows(name: str, content: bytes) -> list[dict]:
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        header = [str(h or "").strip() for h in rows[0]]
        return [{h: ("" if v is None else v if not hasattr(v, "isoformat") else v.isoformat()[:10])
                 for h, v in zip(header, row, strict=False)} for row in rows[1:] if any(v is not None for v in row)]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("file", "must be UTF-8 CSV or XLSX") from None
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
