"""The ledger's keys for the certified outpatient benefits (pure, claims/ledger/keys.py): the
quote's year_to_date fields (contracts/quote.md "Certified outpatient benefits") come from the
accounts the entries advance (DOMAIN.md §3 "Yearly accumulators", §4.1–4.4)."""

from decimal import Decimal as D

from claims.ledger import keys
from medins.benefits import compute, parse_quote_request
from tests.medins.benefits.shipped import snapshot

YEAR = keys.YEAR


def post(accounts, benefit, item, quote, **kw):
    """Advance the accounts the way ledger_post does with one settlement."""
    for key, figures in keys.split(benefit, item, keys.effect(benefit, quote, **kw)).items():
        accounts[key] = accounts.get(key, keys.EMPTY) + figures


def run(data, accounts, item="", **kw):
    data = {**data, "year_to_date": keys.year_to_date(data["benefit"], accounts, item, **kw)}
    data["year_to_date"] = {k: v if isinstance(v, bool) else str(v) for k, v in data["year_to_date"].items()}
    req = parse_quote_request(data)  # every field produced is one the contract accepts
    body = compute(req, snapshot(req.region, req.service_date)).as_dict()
    post(accounts, data["benefit"], item, body, **kw)
    return body


def test_existing_keys_for_cases_and_pool_visits_are_kept():
    accounts = {YEAR: keys.Figures(cap_fund=D(5), covered_personal=D(7), catastrophic=D(1)),
                ("outpatient_pool", ""): keys.Figures(fund=D(100), deductible=D(60))}
    assert keys.year_to_date("inpatient", accounts) == {"fund_paid": D(5), "covered_personal": D(7),
                                                        "catastrophic_paid": D(1)}
    pool = keys.year_to_date("outpatient_pool", accounts)
    assert (pool["fund_paid"], pool["deductible_paid_amount"]) == (D(100), D(60))
    # A pool visit writes its own account and the shared outpatient one (the re-check's row, §4.2).
    assert keys.scopes("outpatient_pool") == (("outpatient_pool", ""), keys.SHARED)
    assert keys.scopes("inpatient") == (YEAR, ("inpatient", ""))


def test_shared_fund_paid_is_chronic_plus_pool_and_both_are_read():
    """DOMAIN §4.2: the shared 6 500 counts chronic and pool fund; the quote reads both accounts."""
    assert set(keys.read_scopes("outpatient_pool")) == {("chronic", ""), ("outpatient_pool", ""), keys.SHARED}
    assert set(keys.read_scopes("chronic")) == {("chronic", ""), ("outpatient_pool", ""), keys.SHARED}
    accounts = {("chronic", ""): keys.Figures(fund=D(5800)), ("outpatient_pool", ""): keys.Figures(fund=D(600))}
    assert keys.year_to_date("outpatient_pool", accounts)["shared_fund_paid"] == D(6400)
    ytd = keys.year_to_date("chronic", accounts)
    assert (ytd["fund_paid"], ytd["shared_fund_paid"]) == (D(5800), D(6400))


def test_changchun_chronic_and_pool_through_the_keys_stop_at_6500():
    """DOMAIN §4.2 (CH-E2 then CH-E3 style): fed through keys, chronic + pool stop at 6 500."""
    accounts = {}
    chronic = {"region": "220100", "benefit": "chronic", "service_date": "2021-03-01",
               "person": {"category": "adult"}, "institution": {"level": "primary"},
               "certified_diseases": ["coronary_heart_disease", "diabetes", "heart_failure", "gout", "copd",
                                      "chronic_gastritis", "chronic_diarrhoea", "stroke_hemiplegia"],
               "bill": {"class_a": "3000.00", "class_b": "0.00", "class_c": "0.00"}}
    pool = {"region": "220100", "benefit": "outpatient_pool", "service_date": "2021-03-02",
            "person": {"category": "adult"}, "institution": {"level": "primary"},
            "bill": {"class_a": "700.00", "class_b": "0.00", "class_c": "0.00"}}
    for _ in range(4):
        run(pool, accounts)
        run(chronic, accounts)
    assert accounts[("outpatient_pool", "")].fund == D(1000)
    assert accounts[("chronic", "")].fund == D(5500)  # the pooled cap is 6360 but the shared total binds
    assert keys.shared_outpatient_fund(accounts) == D(6500)


def test_special_disease_reads_the_disease_fund_the_cumulative_eligible_and_the_shared_cap():
    """DOMAIN §4.1 (SD-E1 then SD-E2 through the ledger keys): 1980 then 16 140."""
    accounts = {}
    data = {"region": "220100", "benefit": "special_disease", "service_date": "2021-04-12",
            "person": {"category": "adult"}, "institution": {"level": "provincial_tertiary"}, "disease": "SPD-027",
            "bill": {"class_a": "3000.00", "class_b": "2000.00", "class_c": "100.00"}}
    assert run(data, accounts, "SPD-027")["fund"] == "1980.00"
    ytd = keys.year_to_date("special_disease", accounts, "SPD-027")
    assert ytd == {"fund_paid": D("1980.00"), "eligible_counted": D("4800.00"),
                   "deductible_paid_amount": D("1200.00"), "disease_fund_paid": D("1980.00")}
    second = {**data, "bill": {"class_a": "20000.00", "class_b": "10000.00", "class_c": "0.00"}}
    assert run(second, accounts, "SPD-027")["fund"] == "16140.00"
    assert accounts[YEAR].cap_fund == D("18120.00")  # toward the 200 000 shared with inpatient
    # another disease shares the deductible and the cumulative axis, not the disease's own fund
    assert keys.year_to_date("special_disease", accounts, "SPD-041")["disease_fund_paid"] == D(0)


def test_special_drug_keeps_its_own_deductible_and_shares_the_cap():
    """DOMAIN §4.4 (DR-E1 twice): the second purchase pays no deductible; fund on the year's cap."""
    accounts = {YEAR: keys.Figures(cap_fund=D(1000))}
    data = {"region": "220100", "benefit": "special_drug", "service_date": "2021-03-08",
            "person": {"category": "adult"}, "institution": {"level": "provincial_tertiary"}, "drug": "CC-D-003",
            "bill": {"class_a": "0.00", "class_b": "20000.00", "class_c": "0.00"}}
    assert run(data, accounts, "CC-D-003")["fund"] == "6490.00"
    second = run(data, accounts, "CC-D-003")
    assert second["settlement"]["act_pay_dedc"] == "0.00"
    assert second["fund"] == "7150.00"  # 13 000 × 55 % on [13 000, 26 000]
    assert accounts[YEAR].cap_fund == D("14640.00")


def test_two_diseases_caps_are_per_disease():
    """DOMAIN §4.3: 300 per disease — the diabetes account does not use the hypertension room."""
    accounts = {}
    data = {"region": "370100", "benefit": "two_diseases", "service_date": "2021-05-20",
            "person": {"category": "adult"}, "institution": {"level": "primary"}, "disease": "hypertension",
            "bill": {"class_a": "800.00", "class_b": "0.00", "class_c": "0.00"}}
    assert run(data, accounts, "hypertension")["fund"] == "300.00"
    assert run(data, accounts, "hypertension")["fund"] == "0.00"
    assert run({**data, "disease": "diabetes"}, accounts, "diabetes")["fund"] == "300.00"
    assert keys.year_to_date("two_diseases", accounts, "diabetes") == {"fund_paid": D(300)}


def test_jinan_other_disease_shares_the_inpatient_cap_through_the_year_account():
    """DOMAIN §4.2 Jinan: other diseases' 250 000 is shared with inpatient: the entry advances and
    the quote reads the year's cap_fund; the 200 deductible is paid once."""
    accounts = {YEAR: keys.Figures(cap_fund=D(248000))}
    data = {"region": "370100", "benefit": "chronic", "service_date": "2021-05-20",
            "person": {"category": "adult"}, "institution": {"level": "secondary"},
            "certified_diseases": ["uremia_dialysis"], "disease": "uremia_dialysis",
            "bill": {"class_a": "2200.00", "class_b": "0.00", "class_c": "0.00"}}
    assert keys.scopes("chronic", "uremia_dialysis", inpatient_cap=True)[0] == YEAR
    assert run(data, accounts, "uremia_dialysis", inpatient_cap=True)["fund"] == "1600.00"  # (2200 − 200) × 80 %
    assert run(data, accounts, "uremia_dialysis", inpatient_cap=True)["fund"] == "400.00"  # 250 000 reached
    assert accounts[YEAR].cap_fund == D(250000)
    assert accounts[("chronic", "")].deductible == D(200)


def test_chronic_and_pool_entries_both_advance_the_shared_account():
    """DOMAIN §4.2: chronic and pool each read the other's account unlocked; the shared account they
    both advance is what makes the ledger's re-check refuse the second of two concurrent batches."""
    pool = keys.split("outpatient_pool", "", keys.entry_figures("outpatient_pool", fund=D(300), deductible=D(100)))
    chronic = keys.split("chronic", "diabetes", keys.entry_figures("chronic", fund=D(500)))
    assert pool[keys.SHARED] == keys.Figures(fund=D(300))
    assert chronic[keys.SHARED] == keys.Figures(fund=D(500))
    assert keys.SHARED not in keys.split("inpatient", "", keys.entry_figures("inpatient", fund=D(9)))
