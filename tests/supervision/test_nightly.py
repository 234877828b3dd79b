"""The nightly review job (issue 15 item 2): the day's settlements and their history from the
database in the contract's shape, findings written once (idempotent), set-based."""

import datetime as dt

import pytest
from django.core.management import call_command

from claims.supervision import facts as F
from claims.supervision.models import CheckRun, Finding, FindingSettlement
from claims.supervision.services import nightly_check

from .conftest import DAY, at

pytestmark = pytest.mark.django_db

D = dt.date


def bed_days(start, n, *, treat=()):
    """One bed line a day for n days; `treat` days also get a treatment line."""
    out = []
    for i in range(n):
        day = start + dt.timedelta(days=i)
        out.append((day, "BED01", "bed", 1, "40.00"))
        if i in treat:
            out.append((day, "TRT01", "treatment", 1, "200.00"))
    return out


def test_fact_extraction_gives_the_contract_request_of_the_day_and_its_history(person, hospitals, paid_case):
    """contracts/fund-security.md Request: persons with covered periods, stays with admitted/discharged,
    diagnosis, invoice, lines; the day's settlements and the earlier stay of the same person."""
    h1, _h2 = hospitals
    earlier = paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
    today = paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1",
                      lines=bed_days(D(2021, 6, 10), 2))
    facts, day_refs = F.day_facts(region="220100", day=DAY, look_back_days=16)
    assert day_refs == {f"case:{today.pk}"}
    request = facts.request()
    by_id = {s["id"]: s for s in request["settlements"]}
    assert set(by_id) == {f"case:{earlier.pk}", f"case:{today.pk}"}
    s = by_id[f"case:{today.pk}"]
    assert (s["admitted"], s["discharged"], s["diagnosis"], s["via"], s["benefit"]) == (
        "2021-06-10", "2021-06-14", "I63.1", "manual", "inpatient")
    assert s["invoice"]["issuer"] == "吉大一院" and s["fund"] == "1000.00" and s["total"] == "2000.00"
    assert s["lines"][0] == {"date": "2021-06-10", "item": "BED01", "kind": "bed", "quantity": 1, "amount": "40.00"}
    assert request["persons"] == [{"id": str(person.pk), "covered": [["2021-01-01", "2021-12-31"]], "died": None,
                                   "grey_list": [], "certifications": []}]


def test_split_admission_is_found_once_however_often_the_job_runs(person, hospitals, paid_case):
    """contract split_admission (review): B admitted 0–15 days after A's discharge, same institution, same
    ICD-10 category. Issue 15 item 2: running the job twice writes nothing new."""
    h1, _h2 = hospitals
    a = paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
    b = paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1")
    run = nightly_check(region="220100", day=DAY)
    assert (run.settlements, run.findings_new) == (1, 1)
    finding = Finding.objects.get()
    assert finding.rule == "split_admission" and finding.severity == "review" and finding.state == "open"
    assert finding.settlement_refs == sorted([f"case:{a.pk}", f"case:{b.pk}"])
    assert finding.rule_version.startswith("220100-2021")
    assert list(finding.persons.all()) == [person]
    assert finding.institution == h1 and finding.month == D(2021, 6, 1)
    assert finding.suggested_amount == b.fund_amount  # the questioned (later) stay
    assert set(FindingSettlement.objects.values_list("kind", "object_id")) == {("case", a.pk), ("case", b.pk)}

    again = nightly_check(region="220100", day=DAY)
    assert (again.findings_new, again.findings_known, again.runs) == (0, 1, 2)
    assert Finding.objects.count() == 1 and FindingSettlement.objects.count() == 2
    assert CheckRun.objects.count() == 1


def test_readmission_after_sixteen_days_is_no_finding(person, hospitals, paid_case):
    """contract split_admission: 16 days after the discharge is outside the 15-day window."""
    h1, _h2 = hospitals
    paid_case(person, D(2021, 5, 1), D(2021, 5, 10), institution=h1, approved_on=D(2021, 5, 11), diagnosis="I63.9")
    paid_case(person, D(2021, 5, 26), D(2021, 5, 30), institution=h1, diagnosis="I63.1")
    assert nightly_check(region="220100", day=DAY).findings_new == 0


def test_bed_holding_needs_itemised_lines_and_a_stay_without_lines_is_undecided(person, hospitals, paid_case):
    """contract bed_holding: 2+ consecutive stay days with only bed/nursing/meal lines. A stay the system
    holds no lines of is not itemised: undecided, not 'every day idle' (facts.py decision)."""
    h1, h2 = hospitals
    held = paid_case(person, D(2021, 6, 1), D(2021, 6, 6), institution=h1, lines=bed_days(D(2021, 6, 1), 5, treat=(0, 1, 2)))
    other = paid_case(person, D(2021, 6, 8), D(2021, 6, 12), institution=h2)  # no lines
    run = nightly_check(region="220100", day=DAY)
    found = Finding.objects.get(rule="bed_holding")
    assert found.settlement_refs == [f"case:{held.pk}"]
    assert run.undecided["bed_holding"] == 1
    assert not Finding.objects.filter(settlement_refs__contains=[f"case:{other.pk}"], rule="bed_holding").exists()


def test_a_pair_of_old_settlements_is_not_the_day_s_business(person, hospitals, paid_case):
    """Only findings naming a settlement of the day are written (the earlier nights judged the others)."""
    h1, _h2 = hospitals
    paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
    paid_case(person, D(2021, 6, 7), D(2021, 6, 9), institution=h1, approved_on=D(2021, 6, 10), diagnosis="I63.9")
    assert nightly_check(region="220100", day=DAY).findings_new == 0


def test_the_command_runs_a_given_date(person, hospitals, paid_case, capsys):
    h1, _h2 = hospitals
    paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
    paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1")
    call_command("fund_security_nightly", "--date", "2021-06-15", "--region", "220100")
    assert '"new_findings": 1' in capsys.readouterr().out
    call_command("fund_security_nightly", "--date", "2021-06-15", "--region", "220100")
    assert '"new_findings": 0' in capsys.readouterr().out


def test_the_extraction_is_set_based(person, hospitals, paid_case, reference_data, django_assert_max_num_queries):
    """Bounded queries: the same number for 2 or 20 persons' stays (no query per settlement)."""
    from enrollment.models import CoveragePeriod
    from tests.claims.factories import PersonFactory

    h1, _h2 = hospitals

    def build(n):
        for _ in range(n):
            p = PersonFactory(birth=D(1960, 1, 1))
            CoveragePeriod.objects.create(person=p, benefit_year=2021, covered_from=D(2021, 1, 1), covered_to=D(2021, 12, 31))
            paid_case(p, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
            paid_case(p, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1", lines=bed_days(D(2021, 6, 10), 2))

    build(2)
    with django_assert_max_num_queries(30) as small:
        F.day_facts(region="220100", day=DAY, look_back_days=16)
    build(20)
    with django_assert_max_num_queries(len(small.captured_queries)):
        facts, refs = F.day_facts(region="220100", day=DAY, look_back_days=16)
    assert len(refs) == 22


def test_the_beat_task_checks_every_region_for_the_day(person, hospitals, paid_case):
    """medins/schedules.py 'fund security nightly check' → supervision.nightly_check: one run per region."""
    from claims.supervision.tasks import nightly_check as task
    from medins.schedules import SCHEDULES

    assert any(s.task == "supervision.nightly_check" for s in SCHEDULES)
    h1, _h2 = hospitals
    paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
    paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1")
    task.delay("2021-06-15")
    runs = {r.region.code: r for r in CheckRun.objects.select_related("region")}
    assert {"220100", "370100"} <= set(runs)
    assert runs["220100"].findings_new == 1 and runs["370100"].settlements == 0


def test_a_visit_of_the_day_on_an_earlier_stay_elsewhere_is_overlapping_care(person, hospitals, paid_case):
    """contract overlapping_care (review): an outpatient settlement at another institution dated on a stay
    day other than `admitted`. The stay is an earlier night's, the visit the day's (received late). Visits
    after the stay, and visits of a person holding no stay (not sent to the stay rules,
    services.STAY_PAIR_RULES), find nothing."""
    from claims.settlement.models import Visit
    from tests.claims.factories import PersonFactory

    h1, h2 = hospitals
    stay = paid_case(person, D(2021, 6, 1), D(2021, 6, 13), institution=h1, approved_on=D(2021, 6, 14))
    other = PersonFactory(birth=D(1980, 1, 1))

    def visit(who, on, number):
        v = Visit.objects.create(institution=h2, visit_id=f"V{number}", person=who, service_date=on, year=2021,
                                 month=on.month, class_a=50, class_b=0, class_c=0, total=50, fund=30, deductible=0,
                                 personal=20, policy_version="220100-2021")
        Visit.objects.filter(pk=v.pk).update(received_at=at(DAY, 10))
        return v

    inside = visit(person, D(2021, 6, 10), 1)
    visit(person, D(2021, 6, 13), 2)  # the discharge day is no stay day
    visit(other, D(2021, 6, 10), 3)
    run = nightly_check(region="220100", day=DAY)
    assert run.settlements == 3
    found = Finding.objects.get()
    assert found.rule == "overlapping_care" and found.severity == "review"
    assert found.settlement_refs == sorted([f"case:{stay.pk}", f"pv:{inside.pk}"])
