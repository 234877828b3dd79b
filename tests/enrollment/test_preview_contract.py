"""contracts/enrollment-preview.md: the command line (FILE, '-', --many) and POST /api/v1/enrollment/preview/."""

import io
import json

from django.core.management import call_command

REQUEST = {
    "region": "220100",
    "person": {"id_number": "220102199001011239", "category": "adult"},
    "payment_date": "2021-03-15",
    "newborn_registration": False,
}
RESPONSE = {
    "region": "220100",
    "policy_version": "220100-2021",
    "amount_due": "320.00",
    "periods": [{"benefit_year": 2021, "covered_from": "2021-06-15", "covered_to": "2021-12-31", "waiting": True}],
}


def run(monkeypatch, capsys, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        call_command("enrollment_preview", *args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


def test_command_reads_a_file(reference_data, tmp_path, monkeypatch, capsys):
    """Contract: exit 0 with the response; a late payment is priced by the policy of its year (DOMAIN §1)."""
    path = tmp_path / "req.json"
    path.write_text(json.dumps(REQUEST))

    code, out = run(monkeypatch, capsys, str(path))

    assert code == 0
    assert json.loads(out) == RESPONSE


def test_command_reads_standard_input(reference_data, monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, "-", stdin=json.dumps(REQUEST))

    assert (code, json.loads(out)) == (0, RESPONSE)


def test_many_answers_line_by_line_and_exits_2_if_any_failed(reference_data, tmp_path, monkeypatch, capsys):
    """Contract: --many, one response a line; exit 2 with {"error": {...}} for the refused ones."""
    jinan = {**REQUEST, "region": "370100"}
    early = {**REQUEST, "payment_date": "2020-08-01"}  # no 2020 policy, outside the 2021 window
    lines = [json.dumps(REQUEST), "{not json", json.dumps(jinan), "", json.dumps(early)]
    path = tmp_path / "reqs.jsonl"
    path.write_text("\n".join(lines) + "\n")

    code, out = run(monkeypatch, capsys, "--many", str(path))

    bodies = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert bodies[0] == RESPONSE
    assert bodies[1]["error"]["code"] == "invalid_request" and bodies[1]["error"]["field"] == "body"
    assert bodies[2]["error"] == {
        "code": "missing_parameter", "parameter": "contribution.amounts", "region": "370100", "date": "2021-03-15",
        "message": "Policy parameter 'contribution.amounts' is not defined for region 370100 on 2021-03-15",
    }
    assert bodies[3]["error"]["field"] == "body"  # the blank line is answered too (issue #14)
    assert bodies[4]["error"]["parameter"] == "policy_version"


def test_command_not_eligible_exits_2(reference_data, monkeypatch, capsys):
    body = {**REQUEST, "person": {"birth_date": "2021-04-01"}}

    code, out = run(monkeypatch, capsys, "-", stdin=json.dumps(body))

    assert code == 2
    assert json.loads(out)["error"]["code"] == "not_eligible"


def test_api_preview(reference_data, clerk_client):
    """Contract over HTTP: 200 with the response."""
    response = clerk_client.post("/api/v1/enrollment/preview/", REQUEST, content_type="application/json")

    assert response.status_code == 200
    assert response.json() == RESPONSE


def test_api_refuses_a_typod_id_number(reference_data, clerk_client):
    """DOMAIN §1 (GB 11643), issue #14: the preview verifies the check character: the contract's
    old example (…1234, whose check character is 9) is invalid_request on person.id_number."""
    body = {**REQUEST, "person": {"id_number": "220102199001011234", "category": "adult"}}

    response = clerk_client.post("/api/v1/enrollment/preview/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["field"] == "person.id_number"


def test_command_refuses_a_typod_id_number(reference_data, monkeypatch, capsys):
    body = {**REQUEST, "person": {"id_number": "220102199001011234"}}

    code, out = run(monkeypatch, capsys, "-", stdin=json.dumps(body))

    assert code == 2
    assert json.loads(out)["error"]["field"] == "person.id_number"


def test_api_preview_error_is_400_with_field(reference_data, clerk_client):
    response = clerk_client.post("/api/v1/enrollment/preview/", {**REQUEST, "payment_date": "soon"},
                                 content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "payment_date"


def test_api_preview_needs_authentication(reference_data, client):
    response = client.post("/api/v1/enrollment/preview/", REQUEST, content_type="application/json")

    assert response.status_code in (401, 403)


def test_api_preview_is_in_the_schema(reference_data, clerk_client):
    response = clerk_client.get("/api/schema/")

    assert b"/api/v1/enrollment/preview/" in response.content
    assert b"EnrollmentPreviewRequest" in response.content


def test_api_prices_a_2020_window_payment_by_the_2021_policy(reference_data, clerk_client):
    """DOMAIN §1 (issue #14): 2020-11-05 buys 2021 and is priced by 220100-2021, not refused as a
    missing policy_version."""
    response = clerk_client.post("/api/v1/enrollment/preview/", {**REQUEST, "payment_date": "2020-11-05"},
                                 content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {**RESPONSE, "periods": [
        {"benefit_year": 2021, "covered_from": "2021-01-01", "covered_to": "2021-12-31", "waiting": False}]}


def test_command_prices_a_2020_window_payment_by_the_2021_policy(reference_data, monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, "-", stdin=json.dumps({**REQUEST, "payment_date": "2020-11-05"}))

    assert code == 0
    assert json.loads(out)["policy_version"] == "220100-2021"
