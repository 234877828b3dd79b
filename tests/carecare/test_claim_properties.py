"""Properties of a claim line (DOMAIN.md §7), on the pure checks and the engine with the shipped
220100-2021 policy (no database): the shares add up to what was billed, the fund never pays more
than 80 % of 107 a payable day, and billing one more payable day never lowers the fund."""

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from carecare.claim_checks import DayIn, PersonFacts, ResidentIn, evaluate_line
from carecare.selectors import AssessmentPeriod, CareDay

JUNE = [dt.date(2021, 6, d) for d in range(1, 31)]
HOME = 7
_POLICY = {}


def _policy(day):
    if "p" not in _POLICY:
        from medins.benefits.policy import PolicySnapshot
        from medins.services.reference_data import reference_data_read

        entries = reference_data_read().parameters["220100-2021"]
        _POLICY["p"] = PolicySnapshot(region="220100", version="220100-2021", date=dt.date(2021, 6, 1),
                                      params={k: e["value"] for k, e in entries.items()})
    return _POLICY["p"]


money = st.integers(min_value=0, max_value=20000).map(lambda c: Decimal(c).scaleb(-2).quantize(Decimal("0.01")))
day_costs = st.tuples(money, money, money, money)


def _facts(birth, score, absent_days=(), died_on=None):
    days = {d: CareDay(d, HOME, 1, d.day in absent_days, "hospital" if d.day in absent_days else "",
                       died_on is not None and d >= died_on) for d in JUNE}
    assessments = (AssessmentPeriod(1, dt.date(2021, 6, 1), dt.date(2021, 7, 1), "barthel_changchun_2015", score,
                                    "x"),) if score is not None else ()
    return PersonFacts(1, birth, ((dt.date(2021, 1, 1), dt.date(2021, 12, 31)),), days, (), assessments)


def _resident(costs):
    return ResidentIn("X", [DayIn(d, dict(zip(("bed", "nursing", "supplies", "other"), c, strict=True)),
                                  (d.isoformat(), *(str(v) for v in c))) for d, c in zip(JUNE, costs, strict=False)])


births = st.dates(min_value=dt.date(1925, 1, 1), max_value=dt.date(1960, 12, 31))
scores = st.sampled_from([None, 0, 35, 40, 45, 60, 65, 100])


@settings(max_examples=60, deadline=None)
@given(birth=births, score=scores, costs=st.lists(day_costs, min_size=1, max_size=30),
       absent=st.sets(st.integers(min_value=1, max_value=30), max_size=8))
def test_shares_add_up_and_the_fund_stays_under_the_cap(birth, score, costs, absent):
    line = evaluate_line(_resident(costs), _facts(birth, score, absent), home_id=HOME, policy_for=_policy)
    assert line.fund + line.personal + line.refused_amount == line.total
    assert line.fund >= 0 and line.personal >= 0
    assert line.fund <= Decimal("0.80") * 107 * line.days_paid  # no rule pays more than 80 % of 107 a day
    assert line.days_paid + line.days_refused == line.days_billed


@settings(max_examples=60, deadline=None)
@given(birth=births, score=scores, costs=st.lists(day_costs, min_size=2, max_size=30))
def test_more_days_never_mean_less_fund(birth, score, costs):
    facts = _facts(birth, score)
    fewer = evaluate_line(_resident(costs[:-1]), facts, home_id=HOME, policy_for=_policy)
    more = evaluate_line(_resident(costs), facts, home_id=HOME, policy_for=_policy)
    assert more.fund >= fewer.fund
