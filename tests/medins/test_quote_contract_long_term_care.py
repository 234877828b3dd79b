"""The quote contract's long_term_care example (../shared/contracts/quote.md), through the command and the API."""

import json

from .test_quote_contract import assert_contract_response, run_quote

# The contract's example, verbatim: born 16 June 1934, so 86 on 1 June 2021; ADL 70 is no grade
# (DOMAIN §7 bands) → rule 4, bed fee only: 0.50 × 40.00 = 20.00 ≤ 25 × 1 day.
REQUEST = {
    "region": "220100", "benefit": "long_term_care", "service_date": "2021-06-01",
    "person": {"category": "adult", "birth_date": "1934-06-16"},
    "institution": {"level": "care_home"},
    "care": {"adl_score": 70,
             "days": [{"date": "2021-06-01", "bed": "40.00", "nursing": "45.00", "supplies": "5.00", "other": "0.00"}]},
}


def test_command_answers_the_long_term_care_example(reference_data, monkeypatch, capsys):
    """Contract long_term_care + DOMAIN §7 rule 4."""
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps(REQUEST))
    body = json.loads(out)
    assert code == 0
    assert_contract_response(body)
    assert (body["policy_version"], body["total"], body["fund"], body["personal"]) == (
        "220100-2021", "90.00", "20.00", "70.00")
    assert [line["step"] for line in body["lines"]] == ["ltc_aged_bed_fee", "ltc_aged_bed_fee_personal", "other_not_covered"]


def test_api_answers_the_long_term_care_example(admin_client, reference_data):
    response = admin_client.post("/api/v1/quotes/", REQUEST, content_type="application/json")
    assert response.status_code == 200
    assert_contract_response(response.json())
    assert response.json()["fund"] == "20.00"


def test_a_month_with_a_birthday_through_the_command(reference_data, monkeypatch, capsys):
    """DOMAIN §7 (research LTC-E5): the 90th birthday on 16 June splits the month: 300.00 + 756.00."""
    days = [{"date": f"2021-06-{d:02d}", "bed": "40.00", "nursing": "45.00", "supplies": "5.00", "other": "0.00"}
            for d in range(1, 31)]
    request = {**REQUEST, "person": {"category": "adult", "birth_date": "1931-06-16"}, "care": {"adl_score": 70, "days": days}}
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps(request))
    assert code == 0 and json.loads(out)["fund"] == "1056.00"


def test_jinan_has_no_long_term_care(reference_data, monkeypatch, capsys):
    """DOMAIN §7 is Changchun's; Jinan's policy has no long_term_care parameters: refused naming one."""
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps({**REQUEST, "region": "370100"}))
    error = json.loads(out)["error"]
    assert code == 2
    assert (error["code"], error["parameter"], error["region"]) == ("missing_parameter", "long_term_care.adl_grades", "370100")


def test_api_refuses_an_unknown_item_naming_it(admin_client, reference_data):
    day = {**REQUEST["care"]["days"][0], "meals": "12.00"}
    response = admin_client.post("/api/v1/quotes/", {**REQUEST, "care": {"adl_score": 70, "days": [day]}},
                                 content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "care.days[0].meals"
