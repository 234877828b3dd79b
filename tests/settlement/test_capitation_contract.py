"""contracts/capitation.md and DOMAIN §8: the pure arithmetic and `capitation_preview`."""

import io
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from claims.settlement.capitation import MonthFigures, Rates, settle

RATES = Rates(D("60.00"), D("0.50"), "370100-2021")
CONTRACT_REQUEST = {
    "region": "370100",
    "year": 2021,
    "months": [
        {"month": 1, "headcount": 1200, "actual": "4200.00"},
        {"month": 2, "headcount": 1210, "actual": "7000.00"},
    ],
}
CONTRACT_RESPONSE = {
    "region": "370100",
    "year": 2021,
    "policy_version": "370100-2021",
    "monthly": [
        {"month": 1, "quota": "6000.00", "actual": "4200.00", "paid": "4200.00"},
        {"month": 2, "quota": "6050.00", "actual": "7000.00", "paid": "6050.00"},
    ],
    "annual_quota": "12050.00",
    "annual_actual": "11200.00",
    "final": "11625.00",
    "paid_monthly": "10250.00",
    "year_end_balance": "1375.00",
}


def run_preview(monkeypatch, capsys, body):
    monkeypatch.setattr("sys.stdin", io.StringIO(body if isinstance(body, str) else json.dumps(body)))
    code = 0
    try:
        call_command("capitation_preview", "-")
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(capsys.readouterr().out)


def test_contract_example_gives_the_contract_figures(reference_data, monkeypatch, capsys):
    code, body = run_preview(monkeypatch, capsys, CONTRACT_REQUEST)
    assert code == 0
    assert body == CONTRACT_RESPONSE
    assert list(body) == list(CONTRACT_RESPONSE)


def test_file_argument(reference_data, tmp_path, capsys):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(CONTRACT_REQUEST), encoding="utf-8")
    call_command("capitation_preview", str(path))
    assert json.loads(capsys.readouterr().out)["final"] == "11625.00"


def test_missing_parameter_exits_2(reference_data, monkeypatch, capsys):
    # Changchun has no capitation: the missing parameter is named (DOMAIN: never guess).
    code, body = run_preview(monkeypatch, capsys, {**CONTRACT_REQUEST, "region": "220100"})
    assert code == 2
    assert body["error"]["code"] == "missing_parameter"
    assert body["error"]["parameter"] == "capitation.per_person_per_year"


@pytest.mark.parametrize(("change", "field"), [
    ({"year": "2021"}, "year"),
    ({"months": [{"month": 13, "headcount": 1, "actual": "1.00"}]}, "months[0].month"),
    ({"months": [{"month": 1, "headcount": -1, "actual": "1.00"}]}, "months[0].headcount"),
    ({"months": [{"month": 1, "headcount": 1, "actual": 1.5}]}, "months[0].actual"),
    ({"months": [{"month": 1, "headcount": 1, "actual": "1"}, {"month": 1, "headcount": 1, "actual": "1"}]},
     "months[1].month"),
    ({"extra": 1}, "extra"),
])
def test_invalid_request_exits_2_naming_the_field(reference_data, monkeypatch, capsys, change, field):
    code, body = run_preview(monkeypatch, capsys, {**CONTRACT_REQUEST, **change})
    assert code == 2
    assert body["error"] == {**body["error"], "code": "invalid_request", "field": field}


def test_invalid_json_exits_2(db, monkeypatch, capsys):
    code, body = run_preview(monkeypatch, capsys, "{not json")
    assert code == 2 and body["error"]["field"] == "body"


def months(*rows):
    return [MonthFigures(i, h, D(a)) for i, (h, a) in enumerate(rows, 1)]


def test_under_quota_gets_actual_plus_half_the_surplus():
    # DOMAIN §8: actual < quota → actual + 50% × (quota − actual).
    result = settle(months((1200, "1000.00"), (1200, "2000.00")), RATES)
    assert result.annual_quota == D("12000.00")
    assert result.final == D("3000.00") + D("4500.00")
    assert result.paid_monthly == D("3000.00")
    assert result.year_end_balance == D("4500.00")


def test_over_quota_gets_the_quota_only():
    result = settle(months((100, "900.00"), (100, "100.00")), RATES)  # quotas 500 + 500
    assert result.monthly[0].paid == D("500.00")
    assert result.final == D("1000.00")
    assert result.paid_monthly == D("600.00")
    assert result.year_end_balance == D("400.00")


def test_exactly_at_quota():
    result = settle(months((100, "500.00"), (100, "500.00")), RATES)
    assert result.final == result.annual_quota == result.paid_monthly == D("1000.00")
    assert result.year_end_balance == 0


def test_balance_against_what_was_settled_may_be_negative():
    # The contract's balance is final − paid_monthly. Over the contract's own figures it is never
    # below zero (paid_monthly = Σ min(actual, quota) ≤ final); it is negative when more was
    # settled monthly than the year finally owes — here 300 was paid on a head count the year
    # end does not recognise (quota 0): 300 is recovered.
    result = settle(months((0, "300.00")), RATES)
    assert result.final == 0
    assert result.final - D("300.00") == D("-300.00")


@given(st.lists(st.tuples(st.integers(0, 5000), st.decimals(0, 50000, places=2)), min_size=1, max_size=12))
def test_final_is_between_paid_monthly_and_quota(rows):
    result = settle(months(*[(h, str(a)) for h, a in rows]), RATES)
    assert result.paid_monthly <= result.final <= max(result.annual_quota, result.paid_monthly)
    assert result.final <= result.annual_quota or result.annual_quota == 0 or result.final == result.annual_quota


def test_quota_rounds_half_up_to_the_cent():
    # 7 × 60 / 12 = 35.00; 1 × 60 / 12 = 5.00; with a rate of 61: 1 × 61 / 12 = 5.0833… → 5.08
    assert settle(months((1, "0.00")), Rates(D("61.00"), D("0.50"), "x")).monthly[0].quota == D("5.08")
