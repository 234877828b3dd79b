"""What the contract commands share (quote, enrollment_preview, capitation_preview): reading FILE
or '-', one answer per input line with --many, and the contracts' {"error": {...}} for what cannot
be read — never a traceback (issue #14 item 9).

- A missing or unreadable FILE answers {"error": {"code": "invalid_request", "field": "file"}}.
- A request that is not UTF-8 (a BOM is allowed) or not JSON answers an error on "body".
- With --many, output line N answers input line N: a blank line gets an error line too.
- The exit code is 2 when anything was refused, else 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

Answer = Callable[[Any], tuple[bool, dict]]


def error(field: str, message: str) -> dict:
    return {"error": {"code": "invalid_request", "message": f"{field}: {message}", "field": field}}


def read_source(path: str) -> bytes:
    """The bytes of FILE, or of standard input for '-'; raises OSError."""
    if path == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        return buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8")
    with open(path, "rb") as fh:
        return fh.read()


def file_problem(path: str, exc: OSError) -> str:
    """'cannot read requests.jsonl: no such file' — the reason without Python's error class."""
    reason = (exc.strerror or str(exc)).lower() if isinstance(exc, OSError) else str(exc)
    return f"cannot read {path}: {reason}"


def parse_json(raw: bytes) -> tuple[bool, Any]:
    """(True, data) or (False, the error body) for one request."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return False, error("body", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}): save the file as UTF-8")
    try:
        return True, json.loads(text)
    except json.JSONDecodeError as exc:
        return False, error("body", f"not valid JSON: {exc}")


def answer_one(raw: bytes, answer: Answer) -> tuple[bool, dict]:
    ok, data = parse_json(raw)
    return answer(data) if ok else (False, data)


def run(*, path: str, many: bool, answer: Answer, out=None) -> int:
    """Answer FILE (one request) or, with many, each of its lines; returns the exit code."""
    out = out or sys.stdout
    try:
        raw = read_source(path)
    except OSError as exc:
        out.write(json.dumps(error("file", file_problem(path, exc)), ensure_ascii=False) + "\n")
        out.flush()
        return 2
    failed = False
    if not many:
        ok, body = answer_one(raw, answer)
        out.write(json.dumps(body, ensure_ascii=False) + "\n")
        failed = not ok
    else:
        write = out.write
        for line in raw.splitlines():  # bytes: splits on \n, \r\n and \r only
            if line.strip():
                ok, body = answer_one(line, answer)
            else:
                ok, body = False, error("body", "empty line: one JSON request per line")
            write(json.dumps(body, ensure_ascii=False) + "\n")
            failed = failed or not ok
    out.flush()
    return 2 if failed else 0
