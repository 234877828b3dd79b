"""The block rules of contracts/fund-security.md ("Rules" table and "Precise readings"), each
triggered, just outside its condition, and with its exclusions."""

from medins.fund_security import RULES

from .builders import finding, found, line, person, request, run, stay, visit


def test_every_rule_of_the_contract_exists_with_its_severity():
    """Contract "Rules": only the rules of the table exist; overlapping_care is block or review."""
    assert {name: sorted(m.SEVERITIES) for name, m in RULES.items()} == {
        "duplicate_invoice": ["block"], "benefit_twice": ["block"], "third_party_not_deducted": ["block"],
        "not_covered": ["block"], "certification_mismatch": ["block"], "grey_list": ["block"],
        "overlapping_care": ["block", "review"], "split_admission": ["review"], "bed_holding": ["review"],
        "duplicate_charge": ["review"], "excess_prescription": ["review"],
    }
    for module in RULES.values():
        assert module.__doc__.startswith(module.NAME), module.NAME


# ------------------------------------------------------------------ duplicate_invoice


def test_duplicate_invoice_names_the_pair():
    """Contract: duplicate_invoice fires when two settlements carry the same invoice issuer and number."""
    resp = run(request([
        visit("S1", "2021-03-01", invoice={"issuer": "H1", "number": "0001"}),
        visit("S2", "2021-04-01", invoice={"issuer": "H1", "number": "0001"}, via="manual"),
    ]))
    f = finding(resp, "duplicate_invoice")
    assert (f["settlements"], f["severity"], f["persons"]) == (["S1", "S2"], "block", ["P1"])


def test_same_number_of_another_issuer_is_no_duplicate():
    """Contract: the same issuer *and* number; no invoice at all is no finding and not undecided."""
    resp = run(request([
        visit("S1", "2021-03-01", invoice={"issuer": "H1", "number": "0001"}),
        visit("S2", "2021-03-01", invoice={"issuer": "H2", "number": "0001"}),
        visit("S3", "2021-03-01"), visit("S4", "2021-03-01"),
    ]))
    assert found(resp, "duplicate_invoice") == []
    assert "duplicate_invoice" not in resp["undecided"]


def test_three_settlements_on_one_invoice_give_three_pairs_across_persons():
    """Contract "Pairs": three settlements sharing one invoice give three findings."""
    inv = {"issuer": "H1", "number": "9"}
    resp = run(request([visit("S3", "2021-03-01", invoice=inv), visit("S1", "2021-03-01", invoice=inv),
                        visit("S2", "2021-03-01", invoice=inv, person="P2")],
                       persons=[person("P1"), person("P2")]))
    assert found(resp, "duplicate_invoice") == [["S1", "S2"], ["S1", "S3"], ["S2", "S3"]]
    assert finding(run(request([visit("S1", "2021-03-01", invoice=inv), visit("S2", "2021-03-01", invoice=inv,
                                person="P2")], persons=[person("P1"), person("P2")])),
                   "duplicate_invoice")["persons"] == ["P1", "P2"]


# ------------------------------------------------------------------ benefit_twice


def test_two_maternity_settlements_for_one_birth():
    """Contract: two maternity settlements of one person with the same birth_date."""
    resp = run(request([visit("S1", "2021-05-01", benefit="maternity", birth_date="2021-04-30"),
                        visit("S2", "2021-05-03", benefit="maternity", birth_date="2021-04-30", via="manual")]))
    assert found(resp, "benefit_twice") == [["S1", "S2"]]


def test_maternity_for_two_births_or_two_persons_is_no_finding():
    """Contract: same person *and* same birth_date."""
    resp = run(request([
        visit("S1", "2021-05-01", benefit="maternity", birth_date="2021-04-30"),
        visit("S2", "2021-05-03", benefit="maternity", birth_date="2021-04-29", lines=[line("2021-05-03", item="X2")]),
        visit("S3", "2021-05-01", benefit="maternity", birth_date="2021-04-30", person="P2",
              lines=[line("2021-05-01", item="X3")]),
    ], persons=[person("P1"), person("P2")]))
    assert found(resp, "benefit_twice") == []


def test_maternity_without_birth_date_is_undecided_alone():
    """Contract "Undecided": every maternity settlement without birth_date, whether or not a
    counterpart exists; only that settlement is added, the others are still judged."""
    resp = run(request([
        visit("S1", "2021-05-01", benefit="maternity"),
        visit("S2", "2021-05-01", benefit="maternity", birth_date="2021-04-30", lines=[line("2021-05-01", item="A")]),
        visit("S3", "2021-05-02", benefit="maternity", birth_date="2021-04-30", lines=[line("2021-05-02", item="B")]),
    ]))
    assert resp["undecided"]["benefit_twice"] == ["S1"]
    assert found(resp, "benefit_twice") == [["S2", "S3"]]


def test_two_diseases_and_chronic_for_one_disease_on_one_date():
    """Contract: a two_diseases and a chronic settlement of one person for the same disease on the
    same date ("Benefit twice": equal service_date, disease codes equal strings)."""
    resp = run(request([
        visit("S1", "2021-06-01", benefit="two_diseases", disease="diabetes", lines=[line("2021-06-01", item="A")]),
        visit("S2", "2021-06-01", benefit="chronic", disease="diabetes", institution="H2",
              lines=[line("2021-06-01", item="B")]),
    ], region="370100"))
    assert found(resp, "benefit_twice") == [["S1", "S2"]]


def test_two_diseases_and_chronic_on_another_day_or_disease_is_no_finding():
    """Contract: the same disease *and* the same date."""
    resp = run(request([
        visit("S1", "2021-06-01", benefit="two_diseases", disease="diabetes", lines=[line("2021-06-01", item="A")]),
        visit("S2", "2021-06-02", benefit="chronic", disease="diabetes", lines=[line("2021-06-02", item="B")]),
        visit("S3", "2021-06-01", benefit="chronic", disease="hypertension", lines=[line("2021-06-01", item="C")]),
    ]))
    assert found(resp, "benefit_twice") == []


def test_one_line_under_two_benefits():
    """Contract: two settlements of one person under different benefits, each with a line of the
    same date, item and amount; amounts compare as decimals, quantities are not compared."""
    resp = run(request([
        visit("S1", "2021-06-01", benefit="outpatient_pool", lines=[line("2021-06-01", item="MRI", amount="300")]),
        visit("S2", "2021-06-01", benefit="chronic", disease="diabetes",
              lines=[line("2021-06-01", item="MRI", amount="300.00", quantity=2)]),
    ]))
    assert found(resp, "benefit_twice") == [["S1", "S2"]]


def test_same_line_under_one_benefit_or_with_another_amount_is_no_finding():
    """Contract: *different* benefits, and the same date, item and amount."""
    resp = run(request([
        visit("S1", "2021-06-01", lines=[line("2021-06-01", item="MRI", amount="300.00")]),
        visit("S2", "2021-06-01", lines=[line("2021-06-01", item="MRI", amount="300.00")]),
        visit("S3", "2021-06-01", benefit="accident", lines=[line("2021-06-01", item="MRI", amount="300.01")]),
        visit("S4", "2021-06-01", benefit="maternity", birth_date="2021-06-01",
              lines=[line("2021-06-02", item="MRI", amount="300.00")]),
    ]))
    assert found(resp, "benefit_twice") == []


def test_chronic_without_disease_is_undecided():
    """Contract "Undecided": a certified settlement without disease is undecided (benefit_twice
    needs it for the 两病/门规 branch; certification_mismatch needs it too)."""
    resp = run(request([visit("S1", "2021-06-01", benefit="chronic")]))
    assert resp["undecided"] == {"benefit_twice": ["S1"], "certification_mismatch": ["S1"]}


# ------------------------------------------------------------------ third_party_not_deducted


def test_third_party_not_deducted():
    """Contract: third_party_paid > 0 and fund > total − third_party_paid."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-05", total="1000.00", fund="600.01",
                             third_party_paid="400.00")]))
    assert found(resp, "third_party_not_deducted") == [["S1"]]
    assert finding(resp, "third_party_not_deducted")["severity"] == "block"


def test_third_party_deducted_exactly_or_absent_is_no_finding():
    """Contract: fund equal to total − third_party_paid is fine; absent third_party_paid is 0."""
    resp = run(request([
        stay("S1", "2021-03-01", "2021-03-05", total="1000.00", fund="600.00", third_party_paid="400.00"),
        visit("S2", "2021-03-01", total="100.00", fund="100.00"),
        visit("S3", "2021-03-02", total="100.00", fund="100.00", third_party_paid="0.00"),
    ]))
    assert found(resp, "third_party_not_deducted") == []


# ------------------------------------------------------------------ not_covered


def test_not_covered_outside_every_period_and_after_death():
    """Contract: the service date (admitted for stays) is in no covered period, or after died."""
    persons = [person("P1", covered=[["2021-01-01", "2021-03-31"], ["2021-06-01", None]]),
               person("P2", died="2021-05-10")]
    resp = run(request([
        stay("S1", "2021-04-01", "2021-04-05"),                # gap between the periods
        stay("S2", "2021-03-31", "2021-04-05"),                # admitted on the last covered day: fine
        visit("S3", "2021-06-01"),                             # first day of the open period: fine
        visit("S4", "2021-05-11", person="P2"),                # the day after death
        visit("S5", "2021-05-10", person="P2"),                # the day of death: fine
    ], persons=persons))
    assert found(resp, "not_covered") == [["S1"], ["S4"]]


def test_not_covered_checks_every_care_line_of_long_term_care():
    """Contract: every line date for long-term care ("Long-term care dates")."""
    persons = [person("P1", covered=[["2021-01-01", "2021-03-30"]])]
    care = [line(f"2021-03-{d:02d}", kind="care", item="CARE") for d in (28, 29, 30)]
    resp = run(request([visit("S1", "2021-03-28", benefit="long_term_care", lines=care),
                        visit("S2", "2021-03-29", benefit="long_term_care",
                              lines=[*care[:2], line("2021-03-31", kind="care", item="CARE")])], persons=persons))
    assert found(resp, "not_covered") == [["S2"]]
    assert "2021-03-31" in finding(resp, "not_covered")["evidence"]


# ------------------------------------------------------------------ certification_mismatch


CERT = {"benefit": "chronic", "disease": "diabetes", "institution": "H2", "from": "2021-02-01", "to": "2021-12-31"}


def test_certified_visit_needs_a_certification_of_benefit_disease_date_and_institution():
    """Contract: a certified settlement without a certification of that benefit and disease valid
    on the service date at its institution."""
    persons = [person("P1", certifications=[CERT])]
    resp = run(request([
        visit("S1", "2021-03-01", benefit="chronic", disease="diabetes", institution="H2"),       # fine
        visit("S2", "2021-03-01", benefit="chronic", disease="diabetes", institution="H3",
              lines=[line("2021-03-01", item="B")]),                                           # other institution
        visit("S3", "2021-01-31", benefit="chronic", disease="diabetes", institution="H2",
              lines=[line("2021-01-31", item="C")]),                                           # before from
        visit("S4", "2021-03-01", benefit="chronic", disease="hypertension", institution="H2",
              lines=[line("2021-03-01", item="D")]),                                           # other disease
        visit("S5", "2021-03-01", benefit="special_disease", disease="diabetes", institution="H2",
              lines=[line("2021-03-01", item="E")]),                                           # other benefit
        visit("S6", "2021-12-31", benefit="chronic", disease="diabetes", institution="H2",
              lines=[line("2021-12-31", item="F")]),                                           # last valid day
    ], persons=persons))
    assert found(resp, "certification_mismatch") == [["S2"], ["S3"], ["S4"], ["S5"]]


def test_special_drug_at_a_listed_dispensing_pharmacy():
    """Contract: at its institution (or a listed dispensing institution); special drugs name the drug."""
    cert = {"benefit": "special_drug", "drug": "TRASTUZUMAB", "institution": "H1", "dispensing": ["PH1"],
            "from": "2021-01-01", "to": None}
    resp = run(request([
        visit("S1", "2021-03-01", benefit="special_drug", drug="TRASTUZUMAB", institution="PH1"),
        visit("S2", "2021-03-02", benefit="special_drug", drug="TRASTUZUMAB", institution="PH2",
              lines=[line("2021-03-02", item="B")]),
        visit("S3", "2021-03-03", benefit="special_drug", drug="OTHER", institution="H1",
              lines=[line("2021-03-03", item="C")]),
        visit("S4", "2021-03-04", benefit="special_drug", institution="H1", lines=[line("2021-03-04", item="D")]),
    ], persons=[person("P1", certifications=[cert])]))
    assert found(resp, "certification_mismatch") == [["S2"], ["S3"]]
    assert resp["undecided"]["certification_mismatch"] == ["S4"]


def test_long_term_care_and_uncertified_benefits_are_not_judged():
    """Contract "Long-term care dates": certification_mismatch does not apply to long-term care."""
    resp = run(request([visit("S1", "2021-03-01", benefit="long_term_care", lines=[line("2021-03-01", kind="care")]),
                        visit("S2", "2021-03-01", benefit="outpatient_pool", lines=[])]))
    assert found(resp, "certification_mismatch") == []


# ------------------------------------------------------------------ grey_list


GREY = [["2021-06-01", "2021-08-31"]]


def test_grey_list_blocks_a_direct_settlement_in_the_period():
    """Contract: a direct settlement whose service date (admitted for stays) lies in a grey_list
    period; via absent is direct."""
    resp = run(request([
        stay("S1", "2021-05-30", "2021-06-05"),                 # admitted before the period: fine
        stay("S2", "2021-08-31", "2021-09-03", lines=[line("2021-08-31", item="B")]),  # last day
        visit("S3", "2021-06-01", via="direct"),
        visit("S4", "2021-09-01", lines=[line("2021-09-01", item="D")]),                # after
    ], persons=[person("P1", grey_list=GREY)]))
    assert found(resp, "grey_list") == [["S2"], ["S3"]]


def test_grey_list_does_not_apply_to_manual_claims():
    """Contract: grey_list is for direct settlements only (manual reimbursement stays open, J:239)."""
    resp = run(request([visit("S1", "2021-07-01", via="manual")], persons=[person("P1", grey_list=GREY)]))
    assert found(resp, "grey_list") == []


def test_grey_list_dates_long_term_care_by_service_date():
    """Contract "Long-term care dates": grey_list uses the settlement's service_date."""
    care = [line("2021-06-0" + str(d), kind="care") for d in range(1, 4)]
    resp = run(request([visit("S1", "2021-05-31", benefit="long_term_care", lines=care),
                        visit("S2", "2021-06-01", benefit="long_term_care", lines=[line("2021-05-30", kind="care")])],
                       persons=[person("P1", grey_list=GREY)]))
    assert found(resp, "grey_list") == [["S2"]]
