"""Issue #14 item 9, the newcomer's path: the README's sample files exist and run; the contract
commands answer every line and never print a traceback; an unknown region is the request's
fault; the API's errors keep the contract's shape; the two importers agree; the demo script
stops on a busy port before saying it is ready."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def run(monkeypatch, capsys, command, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        call_command(command, *args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


# --------------------------------------------------------------------------- README and samples


def test_every_file_the_readme_names_exists():
    """The README's commands name files that are shipped (requests.jsonl/request.json were not)."""
    readme = (ROOT / "README.md").read_text("utf-8")
    named = set(re.findall(r"(?<![\w/.])((?:samples|enrollment/samples|claims/samples)/[\w.]+)", readme))

    assert {"samples/quote_request.json", "samples/quote_requests.jsonl", "samples/enrollment_preview_request.json",
            "samples/capitation_preview_request.json", "samples/settlement_visits.csv"} <= named
    assert [n for n in named if not (ROOT / n).is_file()] == []
    assert not re.search(r"(?<![\w/])requests?\.jsonl?\b", readme)  # the old examples that did not exist
    assert not re.search(r"(?<![/\w])python manage\.py", readme.replace(".venv/bin/python manage.py", "")), \
        "README: say .venv/bin/python manage.py"


def test_the_quote_samples_run(reference_data, monkeypatch, capsys):
    """README: quote FILE answers 200's figures; --many answers each of the sample's lines in order."""
    code, out = run(monkeypatch, capsys, "quote", str(SAMPLES / "quote_request.json"))
    assert code == 0 and json.loads(out)["fund"] == "16920.00"

    code, out = run(monkeypatch, capsys, "quote", "--many", str(SAMPLES / "quote_requests.jsonl"))
    bodies = [json.loads(line) for line in out.splitlines()]
    assert len(bodies) == len((SAMPLES / "quote_requests.jsonl").read_text("utf-8").splitlines()) == 3
    assert "fund" in bodies[0] and "fund" in bodies[1] and bodies[2]["error"]["code"] == "missing_parameter"
    assert code == 2


def test_the_enrollment_and_capitation_samples_run(reference_data, monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, "enrollment_preview", str(SAMPLES / "enrollment_preview_request.json"))
    assert code == 0 and json.loads(out)["amount_due"] == "320.00"

    code, out = run(monkeypatch, capsys, "enrollment_preview", "--many", str(SAMPLES / "enrollment_preview_requests.jsonl"))
    bodies = [json.loads(line) for line in out.splitlines()]
    assert [b.get("policy_version") for b in bodies[:3]] == ["220100-2021"] * 3
    assert bodies[3]["error"]["field"] == "person.id_number" and code == 2

    code, out = run(monkeypatch, capsys, "capitation_preview", str(SAMPLES / "capitation_preview_request.json"))
    assert code == 0 and json.loads(out)["policy_version"] == "370100-2021"


def test_the_settlement_samples_import_into_the_demo(reference_data, monkeypatch, capsys):
    """README: the settlement samples import into the demo's 山东大学校医院 (exit 0), twice without change."""
    call_command("settlement_demo_data", stdout=io.StringIO())
    visits = str(SAMPLES / "settlement_visits.csv")

    first = run(monkeypatch, capsys, "settlement_import", "visits", "370100", "JN-S-001", visits)
    again = run(monkeypatch, capsys, "settlement_import", "visits", "370100", "JN-S-001", visits)
    signups = run(monkeypatch, capsys, "settlement_import", "signups", "370100", "JN-S-001",
                  str(SAMPLES / "settlement_signups.csv"), "--year", "2021")

    assert (first[0], json.loads(first[1])["created"]) == (0, 3)
    assert (again[0], json.loads(again[1])["duplicates"]) == (0, 3)
    assert signups[0] == 0 and json.loads(signups[1])["errors"] == []


# --------------------------------------------------------------------------- the contract commands


def test_quote_many_answers_every_line_blank_ones_too(reference_data, monkeypatch, capsys, tmp_path):
    """Output line N answers input line N: a blank line gets an error line, not silence."""
    good = (SAMPLES / "quote_request.json").read_text("utf-8").replace("\n", " ")
    path = tmp_path / "r.jsonl"
    path.write_text(f"{good}\n\n{{broken\n   \n{good}\n", encoding="utf-8")

    code, out = run(monkeypatch, capsys, "quote", "--many", str(path))

    bodies = [json.loads(line) for line in out.splitlines()]
    assert len(bodies) == 5
    assert ["fund" in b for b in bodies] == [True, False, False, False, True]
    assert [b["error"]["field"] for b in bodies[1:4]] == ["body", "body", "body"]
    assert code == 2


@pytest.mark.parametrize("command", ["quote", "enrollment_preview", "capitation_preview"])
def test_a_missing_file_is_an_error_object_not_a_traceback(reference_data, monkeypatch, capsys, command):
    code, out = run(monkeypatch, capsys, command, "/nonexistent/requests.json")

    assert code == 2
    assert json.loads(out)["error"] == {"code": "invalid_request", "field": "file",
                                        "message": "file: cannot read /nonexistent/requests.json: no such file or directory"}


@pytest.mark.parametrize("command", ["quote", "enrollment_preview"])
def test_a_non_utf8_file_is_an_error_on_body_and_a_bom_is_fine(reference_data, monkeypatch, capsys, tmp_path, command):
    request = (SAMPLES / f"{command}_request.json").read_text("utf-8")
    latin1, bom = tmp_path / "latin1.json", tmp_path / "bom.json"
    latin1.write_bytes('{"region": "220100", "note": "café"}'.encode("latin-1"))
    bom.write_bytes(b"\xef\xbb\xbf" + request.encode("utf-8"))

    code, out = run(monkeypatch, capsys, command, str(latin1))
    assert code == 2
    assert json.loads(out)["error"]["field"] == "body" and "not UTF-8" in json.loads(out)["error"]["message"]

    code, out = run(monkeypatch, capsys, command, str(bom))
    assert code == 0 and "error" not in json.loads(out)


@pytest.mark.parametrize("command, body", [
    ("quote", {"region": "999999", "benefit": "inpatient", "service_date": "2021-05-10", "person": {"category": "adult"},
               "institution": {"level": "secondary"}, "bill": {"class_a": "1.00", "class_b": "0", "class_c": "0"}}),
    ("enrollment_preview", {"region": "999999", "person": {"birth_date": "1990-01-01"}, "payment_date": "2021-03-15"}),
    ("capitation_preview", {"region": "999999", "year": 2021, "months": [{"month": 1, "headcount": 1, "actual": "1.00"}]}),
])
def test_an_unknown_region_is_invalid_request_on_region(reference_data, monkeypatch, capsys, command, body):
    """Not a missing policy_version: the region code is the request's mistake."""
    code, out = run(monkeypatch, capsys, command, "-", stdin=json.dumps(body))

    error = json.loads(out)["error"]
    assert code == 2 and (error["code"], error["field"]) == ("invalid_request", "region")


# --------------------------------------------------------------------------- the API


def test_api_malformed_json_is_the_contracts_error(reference_data, superuser_client):
    response = superuser_client.post("/api/v1/quotes/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_request", "field": "body", "message": response.json()["error"]["message"]}}
    assert response.json()["error"]["message"].startswith("body: JSON parse error")


def test_api_without_a_token_is_401_with_the_scheme(reference_data, client):
    response = client.post("/api/v1/quotes/", {"region": "220100"}, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_api_unknown_region_is_invalid_request(reference_data, superuser_client):
    response = superuser_client.post("/api/v1/enrollment/preview/", {"region": "999999", "person": {"birth_date": "1990-01-01"},
                                     "payment_date": "2021-03-15"}, content_type="application/json")

    assert response.status_code == 400 and response.json()["error"]["field"] == "region"


# --------------------------------------------------------------------------- the two importers agree


def _import(what: str, path: Path) -> tuple[int, str]:
    out = io.StringIO()
    try:
        if what == "payments":
            call_command("enrollment_import_payments", str(path), stdout=out)
        else:
            call_command("settlement_import", "visits", "370100", "JN-S-001", str(path), stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("what", ["payments", "visits"])
def test_importers_refuse_a_wrong_header_alike(reference_data, tmp_path, what):
    path = tmp_path / "wrong.csv"
    path.write_text("who,when,how much\nx,2021-01-01,1\n", encoding="utf-8")

    code, message = _import(what, path)

    assert code == 2
    assert message.startswith(f"{path}: missing column(s): ")
    # each column named by its Chinese header and its English name (issue 14 item 4)
    assert ("完税凭证号 (receipt_number)" in message) if what == "payments" else (
        "就诊流水号 (visit_id), 身份证号 (id_number)" in message)


@pytest.mark.parametrize("what", ["payments", "visits"])
def test_importers_refuse_a_missing_or_unreadable_file_alike(reference_data, tmp_path, what):
    missing = _import(what, tmp_path / "nope.csv")
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    unreadable = _import(what, binary)

    assert missing == (2, f"cannot read {tmp_path / 'nope.csv'}: no such file or directory")
    assert unreadable[0] == 2 and "neither UTF-8 nor GB18030" in unreadable[1]


def test_importers_number_rows_by_their_line_and_exit_1(reference_data, tmp_path):
    """A bad row on line 3 of either file is row 3 (the header is line 1), and exit 1."""
    from enrollment.demo import demo_id_number, demo_persons_ensure

    demo_persons_ensure()
    call_command("settlement_demo_data", stdout=io.StringIO())
    payments = tmp_path / "payments.csv"
    payments.write_text("receipt_number,id_number,name,paid_on,amount\n"
                        f"NR-1,{demo_id_number('zhang_wei')},张伟,2021-03-15,320.00\n"
                        f"NR-2,{demo_id_number('wu_qiang')},吴强,2021-03-15,1.00\n", encoding="utf-8")
    visits = tmp_path / "visits.csv"
    visits.write_text("visit_id,id_number,service_date,class_a\n\n"   # a blank line 2 is skipped, but counted
                      "NR-V1,370102200202026013,2021-12-01,10.00\n"
                      "NR-V2,370102200202026013,not a date,10.00\n", encoding="utf-8")

    code_p, out_p = _import("payments", payments)
    code_v, out_v = _import("visits", visits)

    assert (code_p, code_v) == (1, 1)
    assert json.loads(out_p.splitlines()[0])["row"] == 3
    assert [e["row"] for e in json.loads(out_v)["errors"]] == [4]


# --------------------------------------------------------------------------- the demo script


def test_demo_stops_on_a_busy_port_before_saying_it_is_ready():
    """scripts/demo.sh: DEMO_ADDR busy -> a clear message and a non-zero exit, no "Demo ready"
    and nothing set up (the check comes first)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, capture_output=True, text=True,
                                timeout=60, env={**os.environ, "DEMO_ADDR": f"127.0.0.1:{port}"}, check=False)

    assert result.returncode != 0
    assert f"127.0.0.1:{port} is not available" in result.stderr
    assert "Demo ready" not in result.stdout + result.stderr


def test_demo_refuses_a_malformed_address():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "DEMO_ADDR": "localhost:http"}, check=False)

    assert result.returncode == 2 and "expected [HOST:]PORT" in result.stderr
