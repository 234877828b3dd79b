"""The quote contract (../shared/contracts/quote.md): command line, --many and HTTP."""

import io
import json
from decimal import Decimal

from django.core.management import call_command

REQUEST = {
    "region": "220100",
    "benefit": "inpatient",
    "service_date": "2021-05-10",
    "person": {"category": "adult"},
    "institution": {"level": "municipal_tertiary"},
    "bill": {"class_a": "20000.00", "class_b": "10000.00", "class_c": "1500.00"},
    "year_to_date": {"fund_paid": "0.00", "covered_personal": "0.00", "catastrophic_paid": "0.00", "deductible_paid": False},
    "flags": [],
}
SETTLEMENT_NAMES = {
    "medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "hifmi_pay", "maf_pay", "psn_cash_pay",
}


def run_quote(monkeypatch, capsys, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        call_command("quote", *args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


def assert_contract_response(body):
    assert set(body) >= {"region", "benefit", "policy_version", "total", "fund", "catastrophic", "personal", "lines", "settlement"}
    total = Decimal(body["total"])
    assert Decimal(body["fund"]) + Decimal(body["catastrophic"]) + Decimal(body["personal"]) == total
    for key in ("total", "fund", "catastrophic", "personal"):
        assert body[key] == f"{Decimal(body[key]):.2f}"
    assert set(body["settlement"]) == SETTLEMENT_NAMES
    assert all({"step", "amount"} <= set(line) for line in body["lines"])


def test_command_reads_stdin_and_answers_the_contract(reference_data, monkeypatch, capsys):
    """Contract: `quote -` prints the response and exits 0; DOMAIN §3 figures for the example."""
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps(REQUEST))
    body = json.loads(out)
    assert code == 0
    assert_contract_response(body)
    assert body["policy_version"] == "220100-2021"
    # eligible 20000 + 0.9×10000 = 29000; fund (29000 − 800) × 60 % = 16920;
    # covered personal 1000 + 800 + 11280 = 13080, of which 3080 above 10000 × 60 % = 1848 catastrophic
    assert (body["total"], body["fund"], body["catastrophic"], body["personal"]) == ("31500.00", "16920.00", "1848.00", "12732.00")
    assert body["settlement"]["hifp_pay"] == body["fund"]
    assert body["settlement"]["medfee_sumamt"] == "31500.00"


def test_command_reads_a_file(reference_data, monkeypatch, capsys, tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(REQUEST), encoding="utf-8")
    code, out = run_quote(monkeypatch, capsys, str(path))
    assert code == 0 and json.loads(out)["fund"] == "16920.00"


def test_jinan_inpatient_is_refused_with_the_missing_parameter(reference_data, monkeypatch, capsys):
    """DOMAIN: a missing parameter is an error naming it; the Jinan seed gives no inpatient figures."""
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps({**REQUEST, "region": "370100"}))
    error = json.loads(out)["error"]
    assert code == 2
    assert error["code"] == "missing_parameter"
    assert error["parameter"].startswith("inpatient.")
    assert (error["region"], error["date"]) == ("370100", "2021-05-10")


def test_a_date_without_policy_is_a_missing_parameter(reference_data, monkeypatch, capsys):
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps({**REQUEST, "service_date": "2019-05-10"}))
    assert code == 2 and json.loads(out)["error"]["code"] == "missing_parameter"


def test_invalid_request_names_the_field(reference_data, monkeypatch, capsys):
    bad = {**REQUEST, "bill": {**REQUEST["bill"], "class_b": "ten"}}
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps(bad))
    error = json.loads(out)["error"]
    assert code == 2 and error["code"] == "invalid_request" and error["field"] == "bill.class_b"


def test_invalid_json_is_an_invalid_request(reference_data, monkeypatch, capsys):
    code, out = run_quote(monkeypatch, capsys, "-", stdin="{not json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_request"


def test_many_answers_one_line_per_request_in_order(reference_data, monkeypatch, capsys, tmp_path):
    """Contract: --many, one request a line, one response a line; a refused line does not stop the rest."""
    lines = [REQUEST, {**REQUEST, "region": "370100"}, {**REQUEST, "person": {"category": "student"}}]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    code, out = run_quote(monkeypatch, capsys, "--many", str(path))
    bodies = [json.loads(x) for x in out.splitlines()]
    assert len(bodies) == 3
    assert bodies[0]["fund"] == "16920.00"
    assert bodies[1]["error"]["code"] == "missing_parameter"
    # student at municipal tertiary: deductible 400, 70 % — (29000 − 400) × 0.70
    assert bodies[2]["fund"] == "20020.00"
    assert code == 2


def test_api_requires_authentication(client, reference_data):
    response = client.post("/api/v1/quotes/", REQUEST, content_type="application/json")
    assert response.status_code in (401, 403)


def test_api_answers_the_contract(admin_client, reference_data, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = admin_client.post("/api/v1/quotes/", REQUEST, content_type="application/json")
    assert response.status_code == 200
    assert_contract_response(response.json())
    assert response.json()["fund"] == "16920.00"


def test_api_refusal_is_400_with_the_error(admin_client, reference_data):
    response = admin_client.post("/api/v1/quotes/", {**REQUEST, "region": "370100"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_parameter"


def test_api_accepts_token_authentication(client, reference_data, django_user_model):
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user("school-bot", password="x")
    token = Token.objects.create(user=user)
    response = client.post("/api/v1/quotes/", REQUEST, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_openapi_schema_documents_the_quote_endpoint(admin_client):
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/v1/quotes/" in schema["paths"]
    assert admin_client.get("/api/docs/").status_code == 200


def test_quote_writes_nothing(reference_data, monkeypatch, capsys, django_assert_num_queries):
    """Contract: the quote must not write to the database — only reads happen."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        run_quote(monkeypatch, capsys, "-", stdin=json.dumps(REQUEST))
    assert ctx.captured_queries
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in ctx.captured_queries)
