"""The contract's examples for the certified outpatient benefits (contracts/quote.md, "Certified
outpatient benefits and long-term care"), over HTTP and the command line, with hand-derived figures."""

import json

import pytest

from tests.medins.test_quote_contract import assert_contract_response, run_quote

CHRONIC = {"region": "220100", "benefit": "chronic", "service_date": "2021-08-02",
           "person": {"category": "adult"}, "institution": {"level": "primary"},
           "certified_diseases": ["coronary_heart_disease", "diabetes"],
           "bill": {"class_a": "500.00", "class_b": "300.00", "class_c": "40.00"},
           "year_to_date": {"fund_paid": "3200.00", "shared_fund_paid": "3800.00"}}
SPECIAL_DISEASE = {"region": "220100", "benefit": "special_disease", "service_date": "2021-04-12",
                   "person": {"category": "adult"}, "institution": {"level": "provincial_tertiary"},
                   "disease": "SPD-027",
                   "bill": {"class_a": "3000.00", "class_b": "2000.00", "class_c": "100.00"},
                   "year_to_date": {"eligible_counted": "0.00", "deductible_paid_amount": "0.00",
                                    "disease_fund_paid": "0.00", "fund_paid": "0.00"}}
SPECIAL_DRUG = {"region": "220100", "benefit": "special_drug", "service_date": "2021-03-08",
                "person": {"category": "adult"}, "institution": {"level": "provincial_tertiary"},
                "drug": "CC-D-003",
                "bill": {"class_a": "0.00", "class_b": "20000.00", "class_c": "0.00"},
                "year_to_date": {"eligible_counted": "0.00", "deductible_paid_amount": "0.00", "fund_paid": "0.00"}}
TWO_DISEASES = {"region": "370100", "benefit": "two_diseases", "service_date": "2021-05-20",
                "person": {"category": "adult"}, "institution": {"level": "primary"},
                "disease": "diabetes", "insulin_user": True,
                "bill": {"class_a": "600.00", "class_b": "300.00", "class_c": "0.00"},
                "year_to_date": {"fund_paid": "0.00"}}

EXPECTED = [
    # chronic (DOMAIN §4.2): cap 3000 + 480 = 3480, room 3480 − 3200 = 280; 60 % × (500 + 300) = 480;
    # shared room 6500 − 3800 = 2700 → fund 280; personal 840 − 280 = 560 (40 class C + 520)
    (CHRONIC, {"total": "840.00", "fund": "280.00", "personal": "560.00", "fulamt_ownpay_amt": "40.00",
               "preselfpay_amt": "0.00", "inscp_scp_amt": "800.00", "act_pay_dedc": "0.00"}),
    # special disease (DOMAIN §4.1): co-pay 10 % × 2000 = 200; eligible 4800; deductible 1200 (adult,
    # provincial); (4800 − 1200) × 55 % = 1980; personal 5100 − 1980 = 3120
    (SPECIAL_DISEASE, {"total": "5100.00", "fund": "1980.00", "personal": "3120.00", "fulamt_ownpay_amt": "100.00",
                       "preselfpay_amt": "200.00", "inscp_scp_amt": "4800.00", "act_pay_dedc": "1200.00"}),
    # special drug (DOMAIN §4.4): 曲妥珠单抗 copay_35: 35 % × 20 000 = 7000; eligible 13 000; deductible
    # 1200; 11 800 × 55 % = 6490; personal 20 000 − 6490 = 13 510
    (SPECIAL_DRUG, {"total": "20000.00", "fund": "6490.00", "personal": "13510.00", "fulamt_ownpay_amt": "0.00",
                    "preselfpay_amt": "7000.00", "inscp_scp_amt": "13000.00", "act_pay_dedc": "1200.00"}),
    # 两病 (DOMAIN §4.3): 50 % × 900 = 450, insulin-using diabetic's cap 400 → fund 400; personal 500
    (TWO_DISEASES, {"total": "900.00", "fund": "400.00", "personal": "500.00", "fulamt_ownpay_amt": "0.00",
                    "preselfpay_amt": "0.00", "inscp_scp_amt": "900.00", "act_pay_dedc": "0.00"}),
]


def _check(body, expected):
    assert_contract_response(body)
    assert body["catastrophic"] == "0.00"  # no catastrophic supplement for outpatient benefits
    for key in ("total", "fund", "personal"):
        assert body[key] == expected[key], key
    for key in ("fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc"):
        assert body["settlement"][key] == expected[key], key
    assert body["settlement"]["hifp_pay"] == expected["fund"]


@pytest.mark.parametrize(("request_body", "expected"), EXPECTED, ids=[r["benefit"] for r, _ in EXPECTED])
def test_api_answers_the_contract_examples(admin_client, reference_data, request_body, expected,
                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(7):  # the catalogue is one more read, only for these benefits
        response = admin_client.post("/api/v1/quotes/", request_body, content_type="application/json")
    assert response.status_code == 200, response.content
    _check(response.json(), expected)


@pytest.mark.parametrize(("request_body", "expected"), EXPECTED, ids=[r["benefit"] for r, _ in EXPECTED])
def test_command_answers_the_contract_examples(reference_data, monkeypatch, capsys, request_body, expected):
    code, out = run_quote(monkeypatch, capsys, "-", stdin=json.dumps(request_body))
    assert code == 0, out
    _check(json.loads(out), expected)


def test_many_mixes_benefits(reference_data, monkeypatch, capsys):
    stdin = "\n".join(json.dumps(r) for r, _ in EXPECTED) + "\n"
    code, out = run_quote(monkeypatch, capsys, "--many", "-", stdin=stdin)
    assert code == 0
    assert [json.loads(x)["fund"] for x in out.splitlines()] == [e["fund"] for _, e in EXPECTED]


def test_refusals_over_http(admin_client, reference_data):
    """Contract: a level the benefit does not admit is not_eligible; Jinan figures the seeds do not
    give are missing_parameter naming it; an unknown year_to_date key is refused."""
    response = admin_client.post("/api/v1/quotes/", {**TWO_DISEASES, "institution": {"level": "secondary"}},
                                 content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_eligible"
    jinan_drug = {**SPECIAL_DRUG, "region": "370100", "drug": "JN-D-013"}
    error = admin_client.post("/api/v1/quotes/", jinan_drug, content_type="application/json").json()["error"]
    assert (error["code"], error["parameter"]) == ("missing_parameter", "special_drug.first_copay_rate")
    handed = admin_client.post("/api/v1/quotes/", {**jinan_drug, "drug": "JN-D-053"},
                               content_type="application/json").json()["error"]
    assert (handed["code"], handed["hand_off"]) == ("not_eligible", "大病保险承办保险公司")
    bad = {**CHRONIC, "year_to_date": {"fund_paid": "0.00", "shared_fund_payd": "0.00"}}
    error = admin_client.post("/api/v1/quotes/", bad, content_type="application/json").json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", "year_to_date.shared_fund_payd")
