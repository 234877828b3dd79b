"""The supervision queue (issue 15 item 3): findings list with filters and person search, bounded
queries; the finding page with the evidence side by side; dismiss with a reason, confirm, and the
second, different person's confirmation (four eyes); the grey list kept by a supervisor."""

import datetime as dt

import pytest
from django.urls import reverse

from claims.supervision.errors import FourEyes, InvalidFindingTransition, InvalidGreyListEntry
from claims.supervision.models import Finding, FindingTransition, GreyListEntry
from claims.supervision.services import (
    finding_approve,
    finding_confirm,
    finding_dismiss,
    finding_return,
    grey_list_add,
    nightly_check,
)
from tests.claims.factories import PersonFactory
from tests.confirming import confirm_then_do, is_confirmation

from .conftest import DAY
from .test_nightly import bed_days

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def split(person, hospitals, paid_case):
    """A split admission found by the nightly job (two stays of one person at one hospital, I63)."""
    h1, _h2 = hospitals
    paid_case(person, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9",
              lines=bed_days(D(2021, 6, 1), 4, treat=(0, 1, 2, 3)))
    paid_case(person, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1",
              lines=bed_days(D(2021, 6, 10), 4, treat=(0, 1, 2, 3)))
    nightly_check(region="220100", day=DAY)
    return Finding.objects.get(rule="split_admission")


def test_confirmation_needs_a_second_different_supervisor(split, supervisors):
    """Issue 15 item 3 / DESIGN four eyes: the one who confirmed may not give the second confirmation."""
    first, second = supervisors
    finding_confirm(acting_user=first, finding=split)
    with pytest.raises(FourEyes):
        finding_approve(acting_user=first, finding=split)
    split.refresh_from_db()
    assert split.state == "confirmed_pending_second"
    finding_approve(acting_user=second, finding=split)
    split.refresh_from_db()
    assert (split.state, split.confirmed_by, split.approved_by) == ("confirmed", first, second)
    assert list(FindingTransition.objects.filter(finding=split).values_list("to_state", flat=True)) == [
        "confirmed_pending_second", "confirmed"]


def test_dismissal_needs_a_reason_and_is_final(split, supervisors):
    first, _second = supervisors
    with pytest.raises(InvalidFindingTransition):
        finding_dismiss(acting_user=first, finding=split, reason=" ")
    finding_dismiss(acting_user=first, finding=split, reason="计划性二次手术，有病历")
    split.refresh_from_db()
    assert (split.state, split.dismissal_reason, split.dismissed_by) == ("dismissed", "计划性二次手术，有病历", first)
    with pytest.raises(InvalidFindingTransition):
        finding_confirm(acting_user=first, finding=split)


def test_the_second_person_may_send_it_back_with_a_reason(split, supervisors):
    first, second = supervisors
    finding_confirm(acting_user=first, finding=split)
    with pytest.raises(FourEyes):  # the confirmer may not send its own confirmation back either (finding_guard)
        finding_return(acting_user=first, finding=split, reason="证据不足")
    finding_return(acting_user=second, finding=split, reason="证据不足")
    split.refresh_from_db()
    assert split.state == "open" and split.confirmed_by is None


def test_only_a_supervisor_decides(split, role_user):
    with pytest.raises(InvalidFindingTransition):
        finding_confirm(acting_user=role_user("rev", "reviewer"), finding=split)


def test_admin_steps_and_evidence_side_by_side(split, supervisors, client):
    """The page shows both admissions, the gap and the lines; the buttons walk the workflow; four eyes in the admin."""
    first, second = supervisors
    client.force_login(first)
    page = client.get(reverse("admin:supervision_finding_change", args=[split.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for ref in split.settlement_refs:
        assert ref in html
    assert 'id="evidence-gap"' in html and "I63.9" in html and "I63.1" in html and "BED01" in html
    act = reverse("admin:supervision_finding_act", args=[split.pk])
    client.post(act, {"action": "confirm"})  # undone by the second person's decision: no confirmation page
    split.refresh_from_db()
    assert split.state == "confirmed_pending_second"
    # the same person, even past the confirmation page: refused by the service (four eyes), its message shown
    refused = client.post(act, {"action": "approve", "confirmed": "yes"}, follow=True)
    assert "不能由首次确认人复核" in _messages(refused)
    split.refresh_from_db()
    assert split.state == "confirmed_pending_second"
    client.force_login(second)
    # the second confirmation is final: it asks first, and nothing moves until "Yes"
    first_answer, done = confirm_then_do(client, act, {"action": "approve"})
    assert split.number in first_answer.content.decode()
    split.refresh_from_db()
    assert split.state == "confirmed" and split.approved_by == second
    assert done.status_code == 302 and done.url == reverse("admin:supervision_finding_change", args=[split.pk])


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_finding_steps_check_who_what_and_the_reason_before_asking(split, supervisors, role_user, client):
    """One act view (medins.admin_workflow.WorkflowActMixin): a user without the supervisor's permission
    gets 403, a finding that does not exist 404; a dismissal without a reason is refused before its
    confirmation page, with one it asks first (a dismissed finding is closed for good); a step the
    finding does not offer now is refused by name."""
    first, _second = supervisors
    act = reverse("admin:supervision_finding_act", args=[split.pk])
    client.force_login(role_user("rev-x", "reviewer"))
    assert client.post(act, {"action": "confirm"}).status_code == 403
    client.force_login(first)
    assert client.post(reverse("admin:supervision_finding_act", args=[split.pk + 1000]),
                       {"action": "confirm"}).status_code == 404
    no_reason = client.post(act, {"action": "dismiss", "reason": "  "}, follow=True)
    assert not is_confirmation(no_reason) and "排除疑点须填写理由" in _messages(no_reason)
    not_now = client.post(act, {"action": "approve"}, follow=True)  # an open finding has no second confirmation
    assert not is_confirmation(not_now) and "不能执行" in _messages(not_now)
    asked, done = confirm_then_do(client, act, {"action": "dismiss", "reason": "计划性二次手术"})
    assert "计划性二次手术" in asked.content.decode()  # the reason is shown and carried to "Yes"
    split.refresh_from_db()
    assert (split.state, split.dismissal_reason, split.dismissed_by) == ("dismissed", "计划性二次手术", first)


def test_findings_list_filters_search_and_bounded_queries(person, hospitals, paid_case, supervisors, client,
                                                          django_assert_max_num_queries):
    """Changelist: filters by rule, severity, state, institution and month; search by ID number or name;
    queries do not grow with the rows (list_select_related, persons prefetched)."""
    h1, _h2 = hospitals
    for _ in range(12):
        p = PersonFactory(birth=D(1960, 1, 1))
        from enrollment.models import CoveragePeriod

        CoveragePeriod.objects.create(person=p, benefit_year=2021, covered_from=D(2021, 1, 1), covered_to=D(2021, 12, 31))
        paid_case(p, D(2021, 6, 1), D(2021, 6, 5), institution=h1, approved_on=D(2021, 6, 6), diagnosis="I63.9")
        paid_case(p, D(2021, 6, 10), D(2021, 6, 14), institution=h1, diagnosis="I63.1", lines=bed_days(D(2021, 6, 10), 4))
    nightly_check(region="220100", day=DAY)
    assert Finding.objects.count() == 24  # a split and a bed-holding each
    client.force_login(supervisors[0])
    url = reverse("admin:supervision_finding_changelist")
    with django_assert_max_num_queries(16):
        page = client.get(url)
    assert page.status_code == 200 and page.context["cl"].result_count == 24
    filtered = client.get(url, {"rule": "bed_holding", "severity": "review", "state": "open", "institution": str(h1.pk),
                                "month": "2021-06"})
    assert filtered.context["cl"].result_count == 12
    one = Finding.objects.filter(rule="split_admission").first().persons.get()
    found = client.get(url, {"q": one.id_number})
    assert found.context["cl"].result_count == 2
    assert client.get(url, {"q": one.name}).context["cl"].result_count >= 2


def test_grey_list_by_a_supervisor_only_and_the_admin_form(person, supervisors, role_user, client):
    """A supervisor puts a person on the grey list for a period (DOMAIN.md §9 direct settlement suspended)."""
    with pytest.raises(InvalidGreyListEntry):
        grey_list_add(acting_user=role_user("clerk2", "intake_clerk"), person=person, from_date=D(2021, 6, 1),
                      to_date=D(2021, 8, 31), reason="x")
    client.force_login(supervisors[0])
    response = client.post(reverse("admin:supervision_greylistentry_add"), {
        "person": person.pk, "from_date": "2021-06-01", "to_date": "2021-11-30", "reason": "冒名就医，暂停直接结算6个月"})
    assert response.status_code == 302
    entry = GreyListEntry.objects.get()
    assert (entry.from_date, entry.to_date, entry.created_by) == (D(2021, 6, 1), D(2021, 11, 30), supervisors[0])
