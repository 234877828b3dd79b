"""overlapping_care, split_admission, bed_holding, duplicate_charge and excess_prescription
(contracts/fund-security.md "Rules" and "Precise readings"), with the shipped 2021 parameters:
each triggered, just outside its threshold, and with its exclusions."""

from .builders import drug, finding, found, line, person, request, run, stay, visit

# ------------------------------------------------------------------ overlapping_care


def test_two_stays_at_different_institutions_sharing_a_day_are_reviewed():
    """Contract: two inpatient or day-surgery stays of one person at different institutions share
    a day (review: neither side is long-term care)."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-09", "2021-03-12", institution="H2", diagnosis="J18")]))
    f = finding(resp, "overlapping_care")
    assert (f["settlements"], f["severity"]) == (["S1", "S2"], "review")


def test_stays_meeting_on_the_discharge_day_or_at_one_institution_do_not_overlap():
    """Contract "Stays": stay days run to the day before discharged; overlapping care needs
    different institutions."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-10", "2021-03-12", institution="H2", diagnosis="J18"),
                        stay("S3", "2021-03-05", "2021-03-06", institution="H1", diagnosis="K35")]))
    assert found(resp, "overlapping_care") == []


def test_a_day_surgery_inside_another_stay_overlaps():
    """Contract "Stays": a day surgery's one stay day is its admitted day."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-05", "2021-03-05", institution="H2", benefit="day_surgery",
                             diagnosis="H25"),
                        stay("S3", "2021-03-10", "2021-03-10", institution="H3", benefit="day_surgery",
                             diagnosis="H25")]))
    assert found(resp, "overlapping_care") == [["S1", "S2"]]


def test_a_care_day_on_a_stay_day_is_blocked_at_any_institution():
    """Contract: a long-term-care line dated on a stay day: block (one side is long_term_care),
    at any institution ("Overlapping care")."""
    care = [line(f"2021-03-{d:02d}", kind="care", item="CARE") for d in range(1, 32)]
    resp = run(request([stay("S1", "2021-03-05", "2021-03-08", institution="HOME1"),
                        visit("S2", "2021-03-01", benefit="long_term_care", institution="HOME1", lines=care)]))
    f = finding(resp, "overlapping_care")
    assert (f["settlements"], f["severity"]) == (["S1", "S2"], "block")
    assert "2021-03-07" in f["evidence"] and "2021-03-08" not in f["evidence"]


def test_care_days_around_a_stay_do_not_overlap():
    """Contract: only care lines on a stay day (the discharge day is not one)."""
    care = [line(d, kind="care", item="CARE") for d in ("2021-03-04", "2021-03-08")]
    resp = run(request([stay("S1", "2021-03-05", "2021-03-08"),
                        visit("S2", "2021-03-01", benefit="long_term_care", lines=care)]))
    assert found(resp, "overlapping_care") == []


def test_outpatient_elsewhere_during_a_stay_but_not_on_the_admitted_day():
    """Contract: an outpatient settlement at another institution dated on a stay day other than
    admitted ("Outpatient" = outpatient_pool, chronic, special_disease, special_drug, two_diseases)."""
    resp = run(request([
        stay("S1", "2021-03-05", "2021-03-10"),
        visit("S2", "2021-03-05", institution="H2"),                                   # admitted day
        visit("S3", "2021-03-06", institution="H2", benefit="special_disease", disease="SPD-001",
              lines=[line("2021-03-06", item="B")]),                                   # fires
        visit("S4", "2021-03-07", institution="H1", lines=[line("2021-03-07", item="C")]),  # same institution
        visit("S5", "2021-03-10", institution="H2", lines=[line("2021-03-10", item="D")]),  # discharge day
        visit("S6", "2021-03-08", institution="H2", benefit="accident", lines=[line("2021-03-08", item="E")]),
    ]))
    assert found(resp, "overlapping_care") == [["S1", "S3"]]
    assert finding(resp, "overlapping_care")["severity"] == "review"


def test_overlapping_care_is_within_one_person():
    """Contract "Overlapping care": always within one person."""


    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-02", "2021-03-08", person="P2", institution="H2")],
                       persons=[person("P1"), person("P2")]))
    assert found(resp, "overlapping_care") == []


def test_severities_block_keeps_only_the_care_home_overlap():
    """Issue brief: severities={"block"} restricts to findings of that severity (overlapping_care
    is block only when one side is long-term care)."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-02", "2021-03-04", institution="H2", diagnosis="J18"),
                        visit("S3", "2021-03-01", benefit="long_term_care", institution="HOME",
                              lines=[line("2021-03-03", kind="care")])]), severities={"block"})
    assert [(f["rule"], f["settlements"]) for f in resp["findings"]] == [
        ("overlapping_care", ["S1", "S3"]), ("overlapping_care", ["S2", "S3"])]


# ------------------------------------------------------------------ split_admission


def test_readmission_within_15_days_same_category_is_a_split():
    """Contract: B admitted 0–15 days after A discharged, same institution, same first three
    characters of diagnosis; the example's evidence."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10", diagnosis="I63.9"),
                        stay("S2", "2021-03-15", "2021-03-20", diagnosis="I63.1")]))
    f = finding(resp, "split_admission")
    assert (f["settlements"], f["severity"], f["persons"]) == (["S1", "S2"], "review", ["P1"])
    assert f["evidence"] == "S2 admitted 5 days after S1's discharge, same institution, I63"


def test_split_admission_window_is_15_days_not_16():
    """Contract "Stays": 0 ≤ B.admitted − A.discharged ≤ 15 calendar days (split_admission_days 15)."""
    resp = run(request([stay("A", "2021-03-01", "2021-03-10"), stay("B15", "2021-03-25", "2021-03-27"),
                        stay("C", "2021-05-01", "2021-05-10"), stay("D16", "2021-05-26", "2021-05-28")]))
    assert found(resp, "split_admission") == [["A", "B15"]]


def test_readmission_on_the_discharge_day_counts_as_0_days():
    """Contract "Stays": 0 days after counts; day surgery counts as a stay."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10"),
                        stay("S2", "2021-03-10", "2021-03-10", benefit="day_surgery", diagnosis="I63.0")]))
    assert found(resp, "split_admission") == [["S1", "S2"]]


def test_no_split_across_institutions_or_categories():
    """Contract: same institution and same ICD-10 category."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10", diagnosis="I63.9"),
                        stay("S2", "2021-03-12", "2021-03-15", diagnosis="I64"),
                        stay("S3", "2021-03-16", "2021-03-18", diagnosis="I63.9", institution="H2")]))
    assert found(resp, "split_admission") == []


def test_planned_cycles_z49_z51_are_excluded():
    """Contract: neither diagnosis's first three characters in planned_cycle_diagnoses [Z49, Z51]."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-03", diagnosis="Z51.1"),
                        stay("S2", "2021-03-10", "2021-03-12", diagnosis="Z51.1"),
                        stay("S3", "2021-04-01", "2021-04-03", diagnosis="z49.1"),
                        stay("S4", "2021-04-05", "2021-04-06", diagnosis="Z49.0")]))
    assert found(resp, "split_admission") == []


def test_only_the_second_stays_transfer_excludes():
    """Contract: B not a transfer; "only B's transfer matters"."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-10", transfer=True),
                        stay("S2", "2021-03-12", "2021-03-20", diagnosis="I63.1"),
                        stay("S3", "2021-03-25", "2021-03-28", diagnosis="I63.2", transfer=True)]))
    # S1 → S2 (S1's transfer does not matter); S2 → S3 and S1 → S3 excluded by S3's transfer.
    assert found(resp, "split_admission") == [["S1", "S2"]]


def test_every_pair_of_three_readmissions_is_reported():
    """Contract "Pairs": a pair rule reports every pair."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-05"), stay("S2", "2021-03-08", "2021-03-10"),
                        stay("S3", "2021-03-12", "2021-03-14")]))
    assert found(resp, "split_admission") == [["S1", "S2"], ["S1", "S3"], ["S2", "S3"]]


def test_every_stay_without_diagnosis_is_undecided():
    """Contract "Undecided": every stay without diagnosis under split_admission, whether or not a
    counterpart exists; only that settlement is added; the others are still judged."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-05"), stay("S2", "2021-03-08", "2021-03-10"),
                        stay("S3", "2021-03-09", "2021-03-12", diagnosis=None),
                        stay("S4", "2021-08-01", "2021-08-02", diagnosis=None, institution="H9")]))
    assert resp["undecided"]["split_admission"] == ["S3", "S4"]
    assert found(resp, "split_admission") == [["S1", "S2"]]


# ------------------------------------------------------------------ bed_holding


def busy(*dates):
    return [line(d, kind="treatment", item="TX") for d in dates]


def idle(*dates):
    return [x for d in dates for x in (line(d, kind="bed", item="BED"), line(d, kind="nursing", item="NUR"),
                                        line(d, kind="meal", item="MEAL"))]


def test_two_consecutive_idle_days_are_bed_holding():
    """Contract: idle_days (2) or more consecutive stay days whose lines are all idle kinds."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-06",
                             lines=busy("2021-03-01", "2021-03-02", "2021-03-05") + idle("2021-03-03", "2021-03-04"))]))
    f = finding(resp, "bed_holding")
    assert (f["settlements"], f["severity"]) == (["S1"], "review")
    assert "2021-03-03 to 2021-03-04 (2 days)" in f["evidence"]


def test_one_idle_day_between_treatments_is_not():
    """Contract: fewer than idle_days consecutive idle days do not fire."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-06",
                             lines=busy("2021-03-01", "2021-03-03", "2021-03-05") + idle("2021-03-02", "2021-03-04"))]))
    assert found(resp, "bed_holding") == []


def test_a_stay_day_without_any_line_counts_as_idle_and_the_discharge_day_does_not():
    """Contract: a stay day with no line at all counts as idle; stay days end the day before
    discharged, so lines on the discharge day do not count either way."""
    fires = stay("S1", "2021-03-01", "2021-03-04", lines=busy("2021-03-01", "2021-03-02"))  # 03, 04? 04 is discharge
    quiet = stay("S2", "2021-04-01", "2021-04-04", lines=busy("2021-04-01", "2021-04-03") + idle("2021-04-04"))
    resp = run(request([fires, stay("S3", "2021-05-01", "2021-05-05", lines=busy("2021-05-01", "2021-05-02")),
                        quiet]))
    # S1: stay days 1–3, only 3 idle (1 day). S3: stay days 1–4, 3 and 4 idle (2 days). S2: 2 idle, 1 day.
    assert found(resp, "bed_holding") == [["S3"]]


def test_a_day_surgery_has_one_stay_day_and_is_no_bed_holding():
    """Contract "Stays": a day surgery has one stay day, fewer than idle_days."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-01", benefit="day_surgery", lines=idle("2021-03-01"))]))
    assert found(resp, "bed_holding") == []


# ------------------------------------------------------------------ duplicate_charge


def bed(date, quantity=1):
    return line(date, kind="bed", item="BED", quantity=quantity, amount="40.00")


def test_two_bed_days_on_one_date_are_a_duplicate_charge():
    """Contract: bed lines of one date with total quantity above 1."""
    resp = run(request([stay("S1", "2021-03-01", "2021-03-04", lines=[bed("2021-03-01"), bed("2021-03-02"),
                                                                     bed("2021-03-02")])]))
    assert found(resp, "duplicate_charge") == [["S1"]]
    assert "2021-03-02" in finding(resp, "duplicate_charge")["evidence"]


def test_bed_days_above_the_stay_days():
    """Contract: bed quantity in all above discharged − admitted; equal is fine."""
    over = stay("S1", "2021-03-01", "2021-03-03", lines=[bed("2021-03-01"), bed("2021-03-02"), bed("2021-03-03")])
    exact = stay("S2", "2021-04-01", "2021-04-03", lines=[bed("2021-04-01"), bed("2021-04-02")])
    one_a_day = stay("S3", "2021-05-01", "2021-05-03", lines=[bed("2021-05-01", "1"), bed("2021-05-02", 1)])
    resp = run(request([over, exact, one_a_day]))
    assert found(resp, "duplicate_charge") == [["S1"]]


def test_a_day_surgery_may_charge_its_one_bed_day():
    """Contract "Stays": a day surgery has one stay day (decision: its bed-day limit is 1)."""
    ok = stay("S1", "2021-03-01", "2021-03-01", benefit="day_surgery", lines=[bed("2021-03-01")])
    two = stay("S2", "2021-03-02", "2021-03-02", benefit="day_surgery", lines=[bed("2021-03-02", 2)])
    resp = run(request([ok, two]))
    assert found(resp, "duplicate_charge") == [["S2"]]


def test_duplicate_charge_is_about_stays_only():
    """Contract: "in one stay"."""
    resp = run(request([visit("S1", "2021-03-01", lines=[bed("2021-03-01", 3)])]))
    assert found(resp, "duplicate_charge") == []


# ------------------------------------------------------------------ excess_prescription


def test_acute_supply_above_7_days_and_chronic_above_30():
    """Contract (a): a drug line's days_supply above the benefit's maximum (acute 7; chronic 30
    for chronic, special_disease, special_drug, two_diseases)."""
    resp = run(request([
        visit("S1", "2021-03-01", lines=[drug("2021-03-01", 8, "A1")]),
        visit("S2", "2021-03-01", lines=[drug("2021-03-01", 7, "A2")]),
        visit("S3", "2021-03-01", benefit="chronic", disease="diabetes", lines=[drug("2021-03-01", 30, "C1")]),
        visit("S4", "2021-03-01", benefit="special_disease", disease="SPD-1", lines=[drug("2021-03-01", 31, "C2")]),
        stay("S5", "2021-03-01", "2021-03-03", lines=[drug("2021-03-01", 8, "A3")]),
    ]))
    assert found(resp, "excess_prescription") == [["S1"], ["S4"], ["S5"]]


def test_37_days_of_supply_in_30_days_fire_and_36_do_not():
    """Contract "Excess prescriptions": more than 1.2 × 30 = 36 days strictly; dispensings of
    every benefit count."""
    fires = [visit("S1", "2021-03-01", benefit="chronic", disease="diabetes", lines=[drug("2021-03-01", 30)]),
             visit("S2", "2021-03-30", lines=[drug("2021-03-30", 7)])]          # day 30 of the window
    resp = run(request(fires))
    assert found(resp, "excess_prescription") == [["S1", "S2"]]
    assert "37 days' supply of D1" in finding(resp, "excess_prescription")["evidence"]

    quiet = [fires[0], visit("S2", "2021-03-30", lines=[drug("2021-03-30", 6)])]
    assert found(run(request(quiet)), "excess_prescription") == []
    outside = [fires[0], visit("S2", "2021-03-31", lines=[drug("2021-03-31", 7)])]  # day 31: outside
    assert found(run(request(outside)), "excess_prescription") == []


def test_each_window_reports_its_set_once_and_one_settlement_may_be_the_set():
    """Contract (b): the settlements holding those lines (an identical set reported once; "Pairs":
    it may name a single settlement holding two dispensings)."""
    single = visit("S1", "2021-03-01", benefit="chronic", disease="diabetes",
                   lines=[drug("2021-03-01", 20), drug("2021-03-01", 20)])
    resp = run(request([single]))
    assert found(resp, "excess_prescription") == [["S1"]]

    # Windows from 03-01 (60 days) and from 03-02 (40 days) both name {S1}: one finding.
    three = visit("S1", "2021-03-01", benefit="chronic", disease="diabetes",
                  lines=[drug(f"2021-03-0{d}", 20) for d in (1, 2, 3)])
    assert found(run(request([three])), "excess_prescription") == [["S1"]]

    chain = [visit(f"S{i}", f"2021-03-{1 + 7 * i:02d}", lines=[drug(f"2021-03-{1 + 7 * i:02d}", 7)]) for i in range(4)]
    chain.append(visit("S4", "2021-03-29", benefit="chronic", disease="x", lines=[drug("2021-03-29", 10)]))
    resp = run(request(chain))
    # window from 03-01: S0..S4 = 7×4 + 10 = 38 > 36; from 03-08: S1..S4 = 31, no
    assert found(resp, "excess_prescription") == [["S0", "S1", "S2", "S3", "S4"]]


def test_another_drug_or_another_person_does_not_add_up():
    """Contract (b): that person's dispensings of that drug."""


    resp = run(request([visit("S1", "2021-03-01", benefit="chronic", disease="x", lines=[drug("2021-03-01", 30, "D1")]),
                        visit("S2", "2021-03-02", lines=[drug("2021-03-02", 7, "D2")]),
                        visit("S3", "2021-03-02", person="P2", lines=[drug("2021-03-02", 7, "D1")])],
                       persons=[person("P1"), person("P2")]))
    assert found(resp, "excess_prescription") == []


def test_a_drug_line_without_drug_or_days_supply_is_undecided_and_skipped():
    """Contract "Undecided": a drug line without drug/days_supply under excess_prescription; the
    rule skips that line and still judges the others."""
    resp = run(request([
        visit("S1", "2021-03-01", lines=[line("2021-03-01", kind="drug", item="D9", days_supply=40),
                                         drug("2021-03-01", 9, "D1")]),
        visit("S2", "2021-03-01", lines=[line("2021-03-01", kind="drug", item="D8", drug="D8")]),
        visit("S3", "2021-03-01", lines=[line("2021-03-01", kind="exam")]),
    ]))
    assert resp["undecided"]["excess_prescription"] == ["S1", "S2"]
    assert found(resp, "excess_prescription") == [["S1"]]
    assert "9 days of D1" in finding(resp, "excess_prescription")["evidence"]
