"""Logs never hold a full ID number or bank account (issue 11, item 5; finding 14: full ID numbers
in the access log, because an admin search by ID number is a GET query string)."""

import io
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from medins.log_masking import mask_personal_data

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER = "220102199001011234"
BANK_ACCOUNT = "6222021234567890123"
SEARCH = f"/admin/enrollment/person/?q={ID_NUMBER}"


def test_mask_keeps_the_ends_of_an_id_number_and_the_last_digits_of_an_account():
    assert mask_personal_data(f"GET {SEARCH} HTTP/1.1") == "GET /admin/enrollment/person/?q=2201**********1234 HTTP/1.1"
    assert mask_personal_data("22010219900101123X") == "2201**********123X"
    assert mask_personal_data(f"account={BANK_ACCOUNT}") == "account=***************0123"
    # amounts, row ids and a search by the last digits are left as they are
    assert mask_personal_data("case 42 paid 12345.67, q=1234, phone 13812345678") == (
        "case 42 paid 12345.67, q=1234, phone 13812345678")


@contextmanager
def captured(handler_logger: str):
    """What the handlers LOGGING gave `handler_logger` write, caught in a buffer."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger(handler_logger).handlers if not type(h).__module__.startswith("_pytest")]
    assert handlers, f"no handler on {handler_logger!r}"
    old = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, old, strict=True):
            handler.setStream(stream)


def test_runserver_request_line_is_masked():
    """runserver logs each request line through the django.server logger, as WSGIRequestHandler.log_message does."""
    with captured("django.server") as out:
        logging.getLogger("django.server").info('"%s" %s %s', f"GET {SEARCH} HTTP/1.1", "200", "5120",
                                                extra={"request": None, "server_time": "01/Dec/2026 12:00:00",
                                                       "status_code": 200})
    text = out.getvalue()
    assert ID_NUMBER not in text
    assert "?q=2201**********1234" in text


def test_django_request_errors_and_app_logs_are_masked_with_their_tracebacks():
    with captured("django") as out:
        logging.getLogger("django.request").warning("Not Found: %s", SEARCH)
    assert ID_NUMBER not in out.getvalue() and "2201**********1234" in out.getvalue()
    with captured("") as out:  # the root handler: every application logger propagates to it
        try:
            raise ValueError(f'duplicate key (id_number)=({ID_NUMBER}), bank account {BANK_ACCOUNT}')
        except ValueError:
            logging.getLogger("claims.services").exception("batch row %s refused", 7)
    text = out.getvalue()
    assert "batch row 7 refused" in text and "ValueError" in text
    assert ID_NUMBER not in text and BANK_ACCOUNT not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn_access_log(*args) -> str:
    """Start gunicorn with `args`, send the admin search by ID number, and return what it logged."""
    port = _free_port()
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": "sqlite://:memory:"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *args, "--bind", f"127.0.0.1:{port}", "--workers", "1", "medins.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/portal/?q={ID_NUMBER}&account={BANK_ACCOUNT}",
                                            timeout=10) as response:
                    assert response.status == 200  # the login page the portal redirects to
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return output


@pytest.mark.parametrize("args", [["-c", "python:medins.gunicorn_conf"], ["--access-logfile", "-"]],
                         ids=["with-the-documented-config", "without-it"])
def test_gunicorn_access_log_masks_the_query_string(args):
    """The documented gunicorn command (README "Running in production") and a bare one both mask."""
    log = _gunicorn_access_log(*args)
    assert re.search(r'"GET /portal/\?q=2201\*{10}1234&account=\*{15}0123 HTTP/1\.1" 302', log), log
    assert ID_NUMBER not in log and BANK_ACCOUNT not in log
