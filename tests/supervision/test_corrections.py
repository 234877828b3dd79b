"""The per-rule corrections of a recovery (claims/supervision/corrections.py, DOMAIN.md §9
"offending lines removed, a split admission merged into one, uncovered days dropped"): pure,
facts in → corrected facts out, against hand-computed figures."""

import datetime as dt
from decimal import Decimal

import pytest

from claims.supervision import corrections as C

D = dt.date
M = Decimal


def line(day, kind, amount, quantity=1, days_supply=None):
    return {"date": day, "item": kind.upper(), "kind": kind, "quantity": M(quantity), "amount": M(amount),
            "days_supply": days_supply}


JUNE_1, JUNE_6 = D(2021, 6, 1), D(2021, 6, 6)


def stay(lines, *, admitted=JUNE_1, discharged=JUNE_6, bill=None, ref="case:1"):
    total = sum((ln["amount"] for ln in lines), M(0))
    return C.Stay(ref=ref, admitted=admitted, discharged=discharged, bill=bill or {"class_a": total, "class_b": M(0),
                                                                                    "class_c": M(0)},
                  lines=tuple(lines))


def test_remove_from_bill_takes_class_a_then_b_then_c():
    assert C.remove_from_bill({"class_a": M(100), "class_b": M(50), "class_c": M(30)}, M(170)) == {
        "class_a": M(0), "class_b": M(0), "class_c": M(10)}
    with pytest.raises(C.NotCorrectable):
        C.remove_from_bill({"class_a": M(10)}, M(11))


def test_bed_holding_removes_the_idle_days_lines_only():
    """contract bed_holding: idle_days 2, idle kinds bed/nursing/meal; 5 stay days, days 2–3 idle
    (bed 40 + nursing 20), day 5 alone idle (a run of 1: kept). Removed 2 × 60 = 120 of 920."""
    d = [D(2021, 6, i) for i in range(1, 6)]
    lines = [line(d[0], "bed", 40), line(d[0], "treatment", 200),
             line(d[1], "bed", 40), line(d[1], "nursing", 20),
             line(d[2], "bed", 40), line(d[2], "nursing", 20),
             line(d[3], "bed", 40), line(d[3], "drug", 400),
             line(d[4], "bed", 40), line(d[4], "nursing", 80)]
    out = C.correct_bed_holding(stay(lines), idle_kinds={"bed", "nursing", "meal"}, min_days=2)
    assert out.removed == M(120)
    assert out.stay.bill["class_a"] == M(920) - M(120)
    assert {ln["date"] for ln in out.stay.lines} == {d[0], d[3], d[4]}


def test_duplicate_charge_removes_the_second_bed_of_a_date_and_beds_beyond_the_stay_days():
    """contract duplicate_charge: 3 stay days; 06-01 billed 2 beds in one line (80): one bed (40) off;
    then 4 beds remain for 3 days: one more off the latest date (06-04, the discharge day, 40). Removed 80."""
    lines = [line(D(2021, 6, 1), "bed", 80, quantity=2), line(D(2021, 6, 2), "bed", 40),
             line(D(2021, 6, 3), "bed", 40), line(D(2021, 6, 4), "bed", 40), line(D(2021, 6, 2), "exam", 300)]
    out = C.correct_duplicate_charge(stay(lines, discharged=D(2021, 6, 4)))
    assert out.removed == M(80)
    beds = sorted((ln["date"], ln["amount"]) for ln in out.stay.lines if ln["kind"] == "bed")
    assert beds == [(D(2021, 6, 1), M(40)), (D(2021, 6, 2), M(40)), (D(2021, 6, 3), M(40))]


def test_excess_prescription_removes_the_supply_above_the_maximum_pro_rata():
    """contract excess_prescription (a): acute maximum 7 days; a 28-day line of 280.00 → 21/28 of it (210.00) off."""
    lines = [line(D(2021, 6, 1), "drug", 280, days_supply=28), line(D(2021, 6, 1), "drug", 70, days_supply=7)]
    out = C.correct_excess_prescription(stay(lines, discharged=D(2021, 6, 1)), max_days=7)
    assert out.removed == M("210.00")
    assert out.stay.bill["class_a"] == M("140.00")
    with pytest.raises(C.NotCorrectable, match="无法重新计算"):
        C.correct_excess_prescription(stay(lines[1:], discharged=D(2021, 6, 1)), max_days=7)


def test_not_covered_drops_uncovered_days_or_the_whole_settlement():
    """contract not_covered: cover ends 06-02 → the lines of 06-03 on are dropped; a settlement with no
    lines whose service date is uncovered is dropped entirely."""
    lines = [line(D(2021, 6, i), "bed", 40) for i in range(1, 6)]
    covered = [(D(2021, 1, 1), D(2021, 6, 2))]
    out = C.correct_not_covered(stay(lines), covered=covered)
    assert out.removed == M(120) and len(out.stay.lines) == 2
    whole = C.correct_not_covered(stay([], bill={"class_a": M(500)}, admitted=D(2021, 7, 1),
                                       discharged=D(2021, 7, 3)), covered=covered)
    assert whole.stay is None and whole.removed == M(500)


def test_split_admission_is_merged_into_one_stay():
    a = stay([line(D(2021, 6, 1), "bed", 40)], ref="case:1", discharged=D(2021, 6, 5),
             bill={"class_a": M(3000), "class_b": M(100), "class_c": M(0)})
    b = stay([line(D(2021, 6, 10), "bed", 40)], ref="case:2", admitted=D(2021, 6, 10), discharged=D(2021, 6, 14),
             bill={"class_a": M(2000), "class_b": M(0), "class_c": M(50)})
    out = C.merge_split(b, a)
    assert (out.stay.ref, out.stay.admitted, out.stay.discharged) == ("case:1", D(2021, 6, 1), D(2021, 6, 14))
    assert out.stay.bill == {"class_a": M(5000), "class_b": M(100), "class_c": M(50)}
    assert len(out.stay.lines) == 2 and out.removed == 0


def test_duplicate_invoice_drops_the_later_settlement():
    first = stay([], ref="pv:9", admitted=D(2021, 6, 1), bill={"class_a": M(100)})
    second = stay([], ref="pv:10", admitted=D(2021, 6, 2), bill={"class_a": M(100)})
    dropped, out = C.drop_second([second, first])
    assert dropped.ref == "pv:10" and out.stay is None and out.removed == M(100)


def dispensing(day, supply, amount, drug="DX"):
    return {**line(day, "drug", amount, days_supply=supply), "drug": drug}


def test_excess_window_keeps_the_earliest_dispensings_up_to_the_tolerance():
    """contract excess_prescription (b), 2021 parameters (window 30, tolerance 1.2 → 36 days): dispensings
    of DX on 06-01 (20 days), 06-11 (20) and 07-05 (20). The window from 06-01 holds 06-01 and 06-11:
    40 > 36 → 06-11 keeps 16 days, 4 cut. 07-05 is in the window from 06-11 (06-11 + 29 = 07-10): 16
    kept + 20 = 36, not more than 36 → kept whole. Another drug is not counted with DX."""
    s1 = stay([dispensing(D(2021, 6, 1), 20, 200)], ref="cv:1", admitted=D(2021, 6, 1), discharged=D(2021, 6, 1))
    s2 = stay([dispensing(D(2021, 6, 11), 20, 200), dispensing(D(2021, 6, 11), 30, 300, drug="OTHER")], ref="cv:2",
              admitted=D(2021, 6, 11), discharged=D(2021, 6, 11))
    s3 = stay([dispensing(D(2021, 7, 5), 20, 200)], ref="cv:3", admitted=D(2021, 7, 5), discharged=D(2021, 7, 5))
    assert C.excess_window_cuts([s3, s1, s2], window_days=30, tolerance=M("1.2")) == {("cv:2", 0): M(4)}
    out = C.correct_excess_prescriptions([s1, s2, s3], max_days={"cv:1": 30, "cv:2": 30, "cv:3": 30}, window_days=30,
                                         tolerance=M("1.2"))
    assert list(out) == ["cv:2"]
    assert out["cv:2"].removed == M("40.00")  # 4/20 × 200
    kept = out["cv:2"].stay.lines[0]
    assert (kept["amount"], kept["days_supply"]) == (M("160.00"), M(16))
    assert out["cv:2"].stay.bill["class_a"] == M("460.00")


def test_excess_prescriptions_apply_the_maximum_before_the_window():
    """(a) then (b): an acute 14-day line is first cut to 7 (half its amount); the window then sees 7 days only."""
    s1 = stay([dispensing(D(2021, 6, 1), 14, 140)], ref="pv:1", admitted=D(2021, 6, 1), discharged=D(2021, 6, 1))
    out = C.correct_excess_prescriptions([s1], max_days={"pv:1": 7}, window_days=30, tolerance=M("1.2"))
    assert out["pv:1"].removed == M("70.00") and out["pv:1"].stay.lines[0]["days_supply"] == M(7)
    assert C.correct_excess_prescriptions([s1], max_days={"pv:1": 14}, window_days=30, tolerance=M("1.2")) == {}


def test_care_days_and_death_and_third_party_corrections():
    """overlapping care / grey list drop the named days; not_covered also drops the days after a death;
    third party re-quotes the (already net) bill, noting the amount deducted."""
    days = [line(D(2021, 6, i), "care", 115) for i in range(1, 6)]
    out = C.correct_days(stay(days), [D(2021, 6, 2), D(2021, 6, 3)], "x")
    assert out.removed == M(230) and [ln["date"].day for ln in out.stay.lines] == [1, 4, 5]
    died = C.correct_not_covered(stay(days), covered=[(D(2021, 1, 1), None)], died=D(2021, 6, 3))
    assert died.removed == M(230) and len(died.stay.lines) == 3
    third = C.correct_third_party(stay(days), third_party=M("1000"))
    assert third.stay.total == M(575) and third.removed == M(1000) and "1000.00" in third.note
