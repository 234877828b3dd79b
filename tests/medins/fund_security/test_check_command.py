"""check() and `manage.py fund_security_check` against the database's policy
(contracts/fund-security.md "Command line", "Response", "Rules" parameters; DESIGN "Policy is data")."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from medins.fund_security import InvalidRequest, MissingParameter, check
from medins.models import PolicyParameter

from .builders import line, person, request, stay, visit

ROOT = Path(__file__).resolve().parents[3]

EXAMPLE = {  # the contract's request, plus a second admission 5 days later (its response example)
    "region": "220100", "as_of": "2021-12-31",
    "persons": [{"id": "P1", "covered": [["2021-01-01", "2021-12-31"]], "died": None,
                 "grey_list": [["2021-06-01", "2021-08-31"]],
                 "certifications": [{"benefit": "chronic", "disease": "diabetes", "institution": "H2",
                                     "from": "2021-01-01", "to": None}]}],
    "settlements": [
        {"id": "S1", "person": "P1", "institution": "H1", "benefit": "inpatient", "via": "direct",
         "admitted": "2021-03-01", "discharged": "2021-03-10", "diagnosis": "I63.9", "transfer": False,
         "invoice": {"issuer": "H1", "number": "0001"}, "total": "12000.00", "fund": "7000.00",
         "third_party_paid": "0.00",
         "lines": [{"date": f"2021-03-{d:02d}", "item": "TX01", "kind": "treatment", "quantity": 1, "amount": "40.00"}
                   for d in range(1, 10)]},
        {"id": "S2", "person": "P1", "institution": "H1", "benefit": "inpatient",
         "admitted": "2021-03-15", "discharged": "2021-03-16", "diagnosis": "I63.1", "total": "900.00",
         "fund": "500.00", "lines": [{"date": "2021-03-15", "item": "EX01", "kind": "exam", "quantity": 1,
                                      "amount": "90.00"}]},
    ],
}


def run_command(monkeypatch, capsys, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        call_command("fund_security_check", *args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


@pytest.mark.parametrize("region", ["220100", "370100"])
def test_check_answers_the_contract_response_in_both_regions(reference_data, region):
    """Contract "Response": region, policy_version, findings sorted, undecided; the example's finding."""
    body = check({**EXAMPLE, "region": region})
    assert body == {"region": region, "policy_version": f"{region}-2021", "undecided": {}, "findings": [
        {"rule": "split_admission", "severity": "review", "settlements": ["S1", "S2"], "persons": ["P1"],
         "evidence": "S2 admitted 5 days after S1's discharge, same institution, I63"}]}


def test_the_shipped_parameters_are_the_contracts_2021_values(reference_data):
    """Contract "Rules": Changchun and Jinan 2021 ship these values; each is a policy parameter."""
    for region in ("220100", "370100"):
        values = dict(PolicyParameter.objects.filter(version__code=f"{region}-2021", key__startswith="fund_security.")
                      .values_list("key", "value"))
        assert values == {
            "fund_security.split_admission_days": "15", "fund_security.planned_cycle_diagnoses": ["Z49", "Z51"],
            "fund_security.idle_day_kinds": ["bed", "nursing", "meal"], "fund_security.idle_days": "2",
            "fund_security.max_days_supply": {"acute": "7", "chronic": "30"},
            "fund_security.supply_window_days": "30", "fund_security.supply_tolerance": "1.2",
        }


def test_thresholds_are_read_from_the_policy_in_force(reference_data):
    """DESIGN "Policy is data": a clerk's change of fund_security.split_admission_days changes the rule."""
    req = request([stay("A", "2021-03-01", "2021-03-10"), stay("B", "2021-03-26", "2021-03-28")])
    assert check(req)["findings"] == [] or all(f["rule"] != "split_admission" for f in check(req)["findings"])
    PolicyParameter.objects.filter(version__code="220100-2021", key="fund_security.split_admission_days").update(
        value="16")
    assert [f["settlements"] for f in check(req)["findings"] if f["rule"] == "split_admission"] == [["A", "B"]]


def test_a_region_without_the_parameters_is_missing_parameter(reference_data):
    """Contract "Invalid requests": a region without the parameters is missing_parameter (named)."""
    PolicyParameter.objects.filter(version__code="370100-2021", key="fund_security.idle_days").delete()
    with pytest.raises(MissingParameter) as exc:
        check({**EXAMPLE, "region": "370100"})
    assert exc.value.as_dict() == {
        "code": "missing_parameter", "parameter": "fund_security.idle_days", "region": "370100",
        "date": "2021-12-31", "message": str(exc.value)}


def test_block_rules_need_no_review_parameter(reference_data):
    """Decision (medins/fund_security/params.py): only the parameters of the rules that run are
    read, so the services' block check works where a review threshold is missing."""
    PolicyParameter.objects.filter(version__code="370100-2021", key__startswith="fund_security.").delete()
    inv = {"issuer": "H1", "number": "7"}
    body = check(request([visit("S1", "2021-03-01", invoice=inv), visit("S2", "2021-03-02", invoice=inv)],
                         region="370100"), severities={"block"})
    assert [(f["rule"], f["settlements"]) for f in body["findings"]] == [("duplicate_invoice", ["S1", "S2"])]


def test_no_policy_on_as_of_and_an_unknown_region(reference_data):
    """DESIGN: a missing parameter is named (no version on as_of); an unknown region is the request's fault."""
    with pytest.raises(MissingParameter) as exc:
        check({**EXAMPLE, "as_of": "2022-01-01"})
    assert exc.value.parameter == "policy_version"
    with pytest.raises(InvalidRequest) as exc:
        check({**EXAMPLE, "region": "110100"})
    assert exc.value.field == "region"


def test_severities_and_rules_select_what_runs(reference_data):
    """Issue brief: severities={"block"} restricts to block rules (and findings); rules names the rules."""
    req = request([stay("S1", "2021-03-01", "2021-03-10", invoice={"issuer": "H", "number": "1"}),
                   stay("S2", "2021-03-12", "2021-03-14", invoice={"issuer": "H", "number": "1"},
                        lines=[line("2021-03-12"), line("2021-03-13")])],
                  persons=[person("P1", covered=[["2021-03-11", None]])])
    rules = lambda body: [f["rule"] for f in body["findings"]]  # noqa: E731
    assert rules(check(req)) == ["bed_holding", "duplicate_invoice", "not_covered", "split_admission"]
    assert rules(check(req, severities={"block"})) == ["duplicate_invoice", "not_covered"]
    assert rules(check(req, severities={"review"})) == ["bed_holding", "split_admission"]
    assert rules(check(req, rules={"not_covered", "split_admission"})) == ["not_covered", "split_admission"]
    with pytest.raises(ValueError):
        check(req, rules={"no_such_rule"})


def test_command_exits_0_with_the_response_from_a_file_or_stdin(reference_data, monkeypatch, capsys, tmp_path):
    """Contract "Command line": exit 0 with the response (also when there are findings)."""
    path = tmp_path / "req.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    code, out = run_command(monkeypatch, capsys, str(path))
    assert code == 0 and json.loads(out) == check(EXAMPLE)
    code, out = run_command(monkeypatch, capsys, "-", stdin=json.dumps(EXAMPLE))
    assert code == 0 and json.loads(out)["findings"][0]["rule"] == "split_admission"


@pytest.mark.parametrize("bad, field", [
    ({**EXAMPLE, "settlements": [{**EXAMPLE["settlements"][0], "person": "P9"}]}, "settlements[0].person"),
    ({**EXAMPLE, "as_of": "2021-02-30"}, "as_of"),
])
def test_command_exits_2_with_invalid_request_naming_the_field(reference_data, monkeypatch, capsys, bad, field):
    """Contract "Command line": exit 2 with {"error": {...}}, invalid_request naming the field."""
    code, out = run_command(monkeypatch, capsys, "-", stdin=json.dumps(bad))
    error = json.loads(out)["error"]
    assert code == 2 and (error["code"], error["field"]) == ("invalid_request", field)


def test_command_exits_2_with_missing_parameter(reference_data, monkeypatch, capsys):
    """Contract "Command line": exit 2 for a missing parameter, in the quote command's error shape."""
    PolicyParameter.objects.filter(version__code="220100-2021", key="fund_security.supply_tolerance").delete()
    code, out = run_command(monkeypatch, capsys, "-", stdin=json.dumps(EXAMPLE))
    error = json.loads(out)["error"]
    assert code == 2
    assert (error["code"], error["parameter"], error["region"], error["date"]) == (
        "missing_parameter", "fund_security.supply_tolerance", "220100", "2021-12-31")


def test_command_refuses_an_unreadable_file_and_bad_json(reference_data, monkeypatch, capsys, tmp_path):
    """As the other contract commands (medins/cli.py): the file and the body are named, never a traceback."""
    code, out = run_command(monkeypatch, capsys, str(tmp_path / "missing.json"))
    assert code == 2 and json.loads(out)["error"]["field"] == "file"
    code, out = run_command(monkeypatch, capsys, "-", stdin="{not json")
    assert code == 2 and json.loads(out)["error"]["field"] == "body"


def _manage(stdin: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "manage.py", "fund_security_check", "-"], input=stdin, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_real_process_exits_2_on_an_invalid_request():
    """Contract "Command line": the process's exit status is 2 (the request is refused before any policy is read)."""
    done = _manage(json.dumps({**EXAMPLE, "settlements": [{**EXAMPLE["settlements"][0], "via": "fax"}]}),
                   "sqlite://:memory:")
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["error"]["field"] == "settlements[0].via"


def test_the_real_process_exits_0_with_findings(reference_data):
    """Contract "Command line": exit 0 with the response, also when there are findings (the
    reference data is committed by the session's setup, so a second process reads it)."""
    if connection.vendor != "postgresql":
        pytest.skip("a second process needs a shared database")
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    if settings.get("PASSWORD"):
        url = f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    done = _manage(json.dumps(EXAMPLE), url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"][0]["settlements"] == ["S1", "S2"]


def test_the_readme_sample_runs(reference_data, monkeypatch, capsys):
    """README "Command-line contracts": the sample finds what the README says it finds."""
    code, out = run_command(monkeypatch, capsys, str(ROOT / "samples" / "fund_security_request.json"))
    body = json.loads(out)
    assert code == 0
    assert [(f["rule"], f["settlements"]) for f in body["findings"]] == [
        ("bed_holding", ["S1"]), ("duplicate_invoice", ["S2", "S3"]), ("excess_prescription", ["S5"]),
        ("grey_list", ["S4"]), ("overlapping_care", ["S2", "S3"]), ("split_admission", ["S1", "S2"])]
    assert body["undecided"] == {"excess_prescription": ["S5"]}
