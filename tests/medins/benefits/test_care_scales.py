"""Assessment scales of long-term care (DOMAIN.md §7 "Assessment"; research §4.3 example LTC-E0). Pure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from medins.benefits import care_scales
from medins.benefits.care_scales import BARTHEL, Scale, ScaleItem, benefit_grade, scale, scale_in_force
from medins.benefits.errors import InvalidParameter, MissingParameter
from medins.benefits.long_term_care import care_split, care_terms
from medins.messages import Msg
from medins.parsing import ParseError

from .test_long_term_care import policy_of

E0 = {"feeding": 5, "bathing": 0, "grooming": 0, "dressing": 5, "bowels": 10, "bladder": 5, "toilet": 5,
      "transfer": 5, "walking": 0, "stairs": 0}
ALL_BEST = {item.code: item.max_value for item in BARTHEL.items}


def test_the_ten_items_and_their_allowed_values():
    """DOMAIN §7: feeding 10/5/0, bathing 5/0, grooming 5/0, dressing 10/5/0, bowels 10/5/0, bladder 10/5/0,
    toilet use 10/5/0, bed–chair transfer 15/10/5/0, walking 45 m 15/10/5/0, stairs 10/5/0."""
    assert {item.code: item.allowed for item in BARTHEL.items} == {
        "feeding": (10, 5, 0), "bathing": (5, 0), "grooming": (5, 0), "dressing": (10, 5, 0),
        "bowels": (10, 5, 0), "bladder": (10, 5, 0), "toilet": (10, 5, 0), "transfer": (15, 10, 5, 0),
        "walking": (15, 10, 5, 0), "stairs": (10, 5, 0),
    }
    assert BARTHEL.max_score == 100
    assert BARTHEL.possible_scores() == frozenset(range(0, 101, 5))


def test_e0_score_is_the_sum_and_the_grade_comes_from_the_bands():
    """DOMAIN §7 (LTC-E0): the score is the sum of the items, never typed: 35 → severe."""
    assert BARTHEL.score(E0) == 35
    assert benefit_grade(policy_of(), BARTHEL.version, BARTHEL.score(E0)) == "severe"
    assert BARTHEL.score(ALL_BEST) == 100


@pytest.mark.parametrize(("score", "grade"), [(0, "severe"), (40, "severe"), (45, "moderate"), (60, "moderate"),
                                              (65, None), (100, None), (None, None)])
def test_bands_of_the_policy(score, grade):
    """DOMAIN §7: ≤ 40 severe, 41–60 moderate, otherwise no grade; no assessment is no grade."""
    assert benefit_grade(policy_of(), BARTHEL.version, score) == grade


def test_bands_are_policy_data():
    """DOMAIN §7 "the scale and its bands are versioned data": another policy, another grade."""
    policy = policy_of({"long_term_care.adl_grades": [{"grade": "severe", "min": "0", "max": "30"},
                                                      {"grade": "moderate", "min": "31", "max": "70"}]})
    assert benefit_grade(policy, BARTHEL.version, 35) == "moderate"
    assert benefit_grade(policy, BARTHEL.version, 70) == "moderate"
    with pytest.raises(MissingParameter) as exc:
        benefit_grade(policy_of({"long_term_care.adl_grades": None}), BARTHEL.version, 35)
    assert exc.value.parameter == "long_term_care.adl_grades"
    with pytest.raises(InvalidParameter):
        care_scales.bands(policy_of({"long_term_care.adl_grades": [{"grade": "mild", "min": "0", "max": "40"}]}))


@pytest.mark.parametrize(("change", "field"), [
    ({"feeding": 7}, "feeding"),
    ({"bathing": 10}, "bathing"),
    ({"transfer": 20}, "transfer"),
    ({"stairs": "five"}, "stairs"),
    ({"walking": None}, "walking"),
    ({"walking": 7.5}, "walking"),
    ({"toilet": True}, "toilet"),
    ({"mobility": 5}, "mobility"),
])
def test_validation_names_the_bad_item(change, field):
    """DOMAIN §7: each item limited to its allowed values; the refusal names the item."""
    values = {**E0, **change}
    if change.get("walking", 0) is None:
        values.pop("walking")
    with pytest.raises(ParseError) as exc:
        BARTHEL.validate(values)
    assert exc.value.field == field


def test_form_strings_are_accepted():
    assert BARTHEL.validate({k: str(v) for k, v in E0.items()}) == E0


def test_a_total_given_alone_must_be_possible():
    """Decision: a Barthel total no combination of items makes (42, 105) is refused."""
    assert BARTHEL.check_score(45) == 45
    for bad in (42, 105, -5, "45", 45.0, True):
        with pytest.raises(ParseError):
            BARTHEL.check_score(bad)


def test_labels_are_chinese_in_the_admin_language():
    """DOMAIN §7 / DESIGN: the assessment form shows the ten items in Chinese (gettext English source + zh_Hans)."""
    with translation.override("zh-hans"):
        assert [item.label.localized() for item in BARTHEL.items] == [
            "进食", "洗澡", "修饰", "穿衣", "控制大便", "控制小便", "如厕", "床椅转移", "平地行走45米", "上下楼梯"]
        assert BARTHEL.item("transfer").choices()[0] == (15, "15 — 可独立完成")
        assert care_scales.grade_label("severe").localized() == "重度失能"
    with translation.override("en"):
        assert BARTHEL.item("feeding").label.localized() == "Feeding"


def test_scale_versions_and_the_scale_in_force():
    """DOMAIN §7: each assessment records its scale version; the policy names the scale in force."""
    assert scale("barthel_changchun_2015") is BARTHEL
    assert scale_in_force(policy_of()) is BARTHEL
    with pytest.raises(KeyError):
        scale("national_2021")
    with pytest.raises(InvalidParameter):
        scale_in_force(policy_of({"long_term_care.assessment_scale": "national_2021"}))


def test_a_level_scale_is_mapped_by_the_policy_without_changing_the_claim_arithmetic(monkeypatch):
    """DOMAIN §7: a 2021-standard scale (grades 0–5) is another scale version whose grades the policy maps to
    benefit grades; the claim arithmetic sees only the benefit grade."""
    national = Scale(
        version="national_test",
        title=Msg("test"),
        kind="level",
        grade_map_parameter="long_term_care.grade_map",
        items=(ScaleItem("level", Msg("level"), ()),),
    )
    monkeypatch.setitem(care_scales.SCALES, national.version, national)
    policy = policy_of({"long_term_care.grade_map": {"national_test": {
        "0": None, "1": None, "2": "moderate", "3": "severe", "4": "severe", "5": "severe"}}})
    assert [benefit_grade(policy, "national_test", level) for level in range(6)] == [
        None, None, "moderate", "severe", "severe", "severe"]
    terms = care_terms(policy)
    costs = {"bed": Decimal("40.00"), "nursing": Decimal("60.00"),
             "supplies": Decimal("15.00"), "other": Decimal("0.00")}
    days = [(dt.date(2021, 6, d), costs) for d in range(1, 31)]
    groups = care_split(terms, birth_date=dt.date(1943, 1, 1), grade=benefit_grade(policy, "national_test", 4), days=days)
    assert [(g.name, str(g.fund)) for g in groups] == [("severe", "2568.00")]  # as LTC-E1

