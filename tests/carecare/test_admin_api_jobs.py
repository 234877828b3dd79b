"""Long-term care in the admin and the API (DOMAIN.md §7): the queue, the item form (score never
typed), the steps from the transitions table, the notice, the person timeline, home isolation,
query counts; the expiring-assessments job."""

import datetime as dt

from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from carecare.models import Assessment, AssessmentState
from carecare.services.assessments import (
    assessment_approve,
    assessment_assess,
    assessment_reassess,
    assessment_request,
    assessment_review_start,
)
from carecare.services.stays import stay_admit
from carecare.tasks import assessments_expiring
from medins.schedules import SCHEDULES
from tests.enrollment.factories import PersonFactory

from .conftest import SEVERE_ITEMS

S = AssessmentState
JUNE = dt.date(2021, 6, 1)


def _post_items(client, a, action, items, on="2021-06-03"):
    data = {"action": action, "assessed_on": on, **{f"item_{k}": v for k, v in items.items()}}
    return client.post(reverse("admin:carecare_assessment_act", args=[a.pk]), data)


def _approved(person, intake, assessor, assessor2, reviewer, approver, on=dt.date(2021, 6, 15), home=None):
    a = assessment_request(acting_user=intake, person=person, requested_by="care_home" if home else "person",
                           care_home=home, requested_on=JUNE)
    a = assessment_assess(acting_user=assessor, assessment=a, items=SEVERE_ITEMS, assessed_on=dt.date(2021, 6, 3))
    a = assessment_reassess(acting_user=assessor2, assessment=a, items=SEVERE_ITEMS, assessed_on=dt.date(2021, 6, 10))
    a = assessment_review_start(acting_user=reviewer, assessment=a, on=dt.date(2021, 6, 11))
    return assessment_approve(acting_user=approver, assessment=a, on=on)


def test_admin_flow_with_buttons_from_the_table(client, resident, intake, assessor, assessor2, reviewer, approver):
    """§7 flow through the admin: the item form for assessors, then review and approval buttons."""
    a = assessment_request(acting_user=intake, person=resident, requested_by="person", requested_on=JUNE)
    client.force_login(assessor)
    page = client.get(reverse("admin:carecare_assessment_change", args=[a.pk])).content.decode()
    assert 'name="item_transfer"' in page and 'id="care-score"' in page and "carecare/score.js" in page
    assert 'name="score"' not in page  # never typed
    _post_items(client, a, "assess", SEVERE_ITEMS)
    a.refresh_from_db()
    assert (a.state, a.score) == (S.ASSESSED, 35)
    client.force_login(assessor2)
    _post_items(client, a, "reassess", {**SEVERE_ITEMS, "transfer": 7}, on="2021-06-10")  # not an allowed value
    a.refresh_from_db()
    assert a.state == S.ASSESSED
    _post_items(client, a, "reassess", SEVERE_ITEMS, on="2021-06-10")
    client.force_login(reviewer)
    page = client.get(reverse("admin:carecare_assessment_change", args=[a.pk])).content.decode()
    assert 'data-action="review_start"' in page and 'data-action="approve"' not in page
    client.post(reverse("admin:carecare_assessment_act", args=[a.pk]), {"action": "review_start", "on": "2021-06-11"})
    # the reviewer has no approve permission: no button, and a forged post is refused
    assert client.post(reverse("admin:carecare_assessment_act", args=[a.pk]), {"action": "approve"}).status_code == 403
    client.force_login(approver)
    page = client.get(reverse("admin:carecare_assessment_change", args=[a.pk])).content.decode()
    assert 'data-action="approve"' in page and 'data-action="reject"' in page
    client.post(reverse("admin:carecare_assessment_act", args=[a.pk]), {"action": "approve", "on": "2021-06-15",
                                                                               "confirmed": "yes"})
    a.refresh_from_db()
    assert a.state == S.APPROVED and a.valid_to == dt.date(2023, 6, 15)
    notice = client.get(reverse("admin:carecare_assessment_notice", args=[a.pk])).content.decode()
    assert "失能评估结论通知书" in notice and "35" in notice and "2023-06-14" in notice


def test_queue_filters_and_query_count(client, reference_data, intake, assessor, assessor2, reviewer, approver,
                                       django_assert_max_num_queries):
    """Queue filters: state, grade, expiring within 60 days; the list's queries do not grow with rows."""
    for i in range(6):
        _approved(PersonFactory(birth=dt.date(1940, 1, 1 + i)), intake, assessor, assessor2, reviewer, approver,
                  on=dt.date(2021, 6, 15))
    client.force_login(approver)
    url = reverse("admin:carecare_assessment_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count == 6
    assert client.get(url, {"grade__exact": "moderate"}).context["cl"].result_count == 0
    assert client.get(url, {"state__exact": "approved"}).context["cl"].result_count == 6
    assert client.get(url, {"expiring": "60"}).context["cl"].result_count == 0  # valid to 2023-06: not expiring today
    Assessment.objects.filter(pk=Assessment.objects.first().pk).update(valid_to=dt.date.today() + dt.timedelta(days=30))
    assert client.get(url, {"expiring": "60"}).context["cl"].result_count == 1


def test_home_operator_sees_only_its_own_home_in_the_admin(client, home, other_home, intake, home_operator,
                                                           other_operator):
    """Home isolation (admin): an operator's lists hold its own home's requests and residents only."""
    mine, theirs = PersonFactory(birth=dt.date(1940, 2, 1)), PersonFactory(birth=dt.date(1940, 3, 1))
    a_mine = assessment_request(acting_user=home_operator, person=mine, requested_by="care_home", care_home=home,
                                requested_on=JUNE)
    a_theirs = assessment_request(acting_user=other_operator, person=theirs, requested_by="care_home",
                                  care_home=other_home, requested_on=JUNE)
    stay_mine = stay_admit(acting_user=home_operator, person=mine, care_home=home, admitted_on=JUNE)
    stay_theirs = stay_admit(acting_user=other_operator, person=theirs, care_home=other_home, admitted_on=JUNE)
    client.force_login(home_operator)
    cl = client.get(reverse("admin:carecare_assessment_changelist")).context["cl"]
    assert [a.pk for a in cl.result_list] == [a_mine.pk]
    assert client.get(reverse("admin:carecare_assessment_change", args=[a_theirs.pk])).status_code == 302  # "does not exist"
    assert client.get(reverse("admin:carecare_assessment_change", args=[a_mine.pk])).status_code == 200
    cl = client.get(reverse("admin:carecare_carestay_changelist")).context["cl"]
    assert [s.pk for s in cl.result_list] == [stay_mine.pk]
    assert client.post(reverse("admin:carecare_carestay_act", args=[stay_theirs.pk]),
                       {"action": "discharge", "on": "2021-06-05"}).status_code == 404
    # the home field of the request form offers the operator's own home only
    form = client.get(reverse("admin:carecare_assessment_add")).context["adminform"].form
    assert list(form.fields["care_home"].queryset) == [home]


def test_stay_steps_in_the_admin(client, resident, home, other_home, intake):
    client.force_login(intake)
    response = client.post(reverse("admin:carecare_carestay_add"), {
        "person": resident.pk, "care_home": home.pk, "admitted_on": "2021-06-01", "note": ""})
    assert response.status_code == 302
    stay = resident.care_stays.get()
    url = reverse("admin:carecare_carestay_act", args=[stay.pk])
    client.post(url, {"action": "absence", "from_date": "2021-06-10", "to_date": "2021-06-12", "reason": "hospital"})
    client.post(url, {"action": "transfer", "on": "2021-06-20", "to_home": other_home.pk, "confirmed": "yes"})
    stay.refresh_from_db()
    assert stay.absences.count() == 1 and stay.end_reason == "transfer" and stay.next_stay.care_home == other_home


def test_person_page_shows_the_care_timeline(client, resident, home, intake, assessor, assessor2, reviewer, approver,
                                             superuser):
    _approved(resident, intake, assessor, assessor2, reviewer, approver)
    stay_admit(acting_user=intake, person=resident, care_home=home, admitted_on=dt.date(2021, 6, 20))
    client.force_login(superuser)
    page = client.get(reverse("admin:enrollment_person_change", args=[resident.pk])).content.decode()
    assert 'id="care-timeline"' in page and "2021-06-20" in page and "2023-06-15" in page


# --------------------------------------------------------------------------- API


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_home_requests_an_assessment_with_its_token(resident, home, home_operator):
    response = _api(home_operator).post("/api/v1/care/assessments/", {"id_number": resident.id_number,
                                                                       "requested_on": "2021-06-01"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "requested" and body["care_home"] == home.code and body["requested_by"] == "care_home"
    assert body["id_number"] != resident.id_number  # masked


def test_api_home_isolation(resident, home, other_home, home_operator, other_operator):
    """Home isolation (API): another home's assessment is a 404 and absent from the list; a home
    cannot request for another home."""
    theirs = assessment_request(acting_user=other_operator, person=resident, requested_by="care_home",
                                care_home=other_home, requested_on=JUNE)
    client = _api(home_operator)
    assert client.get(f"/api/v1/care/assessments/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/care/assessments/").json()["count"] == 0
    response = client.post("/api/v1/care/assessments/", {
        "id_number": PersonFactory(birth=dt.date(1941, 1, 1)).id_number, "requested_on": "2021-06-01",
        "care_home": {"region": "220100", "code": other_home.code}}, format="json")
    assert response.status_code == 201 and response.json()["care_home"] == home.code  # always its own home
    assert _api(other_operator).get(f"/api/v1/care/assessments/{theirs.pk}/").status_code == 200


def test_api_refusals_name_the_field(resident, home_operator):
    client = _api(home_operator)
    response = client.post("/api/v1/care/assessments/", {"id_number": "110101190001010000"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "id_number"
    # the care home reads it in Chinese, the field by its label (issue 14 item 4); the key stays
    assert response.json()["error"]["message"] == "身份证号码: 没有持此身份证号码的参保人"
    response = client.post("/api/v1/care/assessments/", {"id_number": resident.id_number, "requested_on": "2021-13-01"},
                           format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "requested_on"


def test_api_list_query_count(home, home_operator, django_assert_max_num_queries):
    for i in range(8):
        assessment_request(acting_user=home_operator, person=PersonFactory(birth=dt.date(1940, 4, 1 + i)),
                           requested_by="care_home", care_home=home, requested_on=JUNE)
    client = _api(home_operator)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/care/assessments/").json()
    assert body["count"] == 8


# --------------------------------------------------------------------------- the job


def test_expiring_job_lists_assessments_within_60_days(resident, intake, assessor, assessor2, reviewer, approver):
    """Issue 13 item 4: assessments expiring within 60 days listed for re-assessment (valid to 2023-06-15)."""
    a = _approved(resident, intake, assessor, assessor2, reviewer, approver)
    assert assessments_expiring(today="2023-04-15")["count"] == 0  # 61 days before
    result = assessments_expiring(today="2023-04-16")
    assert result["count"] == 1 and result["assessments"][0]["assessment"] == a.pk
    assert assessments_expiring(today="2023-06-15")["count"] == 0  # expired: no longer "expiring"
    assessment_request(acting_user=intake, person=resident, requested_by="person", requested_on=JUNE)
    assert assessments_expiring(today="2023-04-16")["count"] == 0  # a re-assessment is in progress


def test_job_declared_in_the_schedule():
    assert "carecare.assessments_expiring" in {s.task for s in SCHEDULES}
