"""Monthly care claims through the API and the admin (DOMAIN.md §7): a care home sends its month
and reads each resident's result; it sees only its own claims (404 for another home's); the admin
list (filters, amounts right-aligned, pinned queries), the claim page with every refused day's
reason and the buttons from the transitions table; the upload with a preview; the reminder job."""

from pathlib import Path

from django.urls import reverse
from rest_framework.test import APIClient

from carecare.models import CareClaim, CareClaimReminder, CareClaimState, CareClaimUpload, StayAbsence
from carecare.services.claims import care_claim_receive
from carecare.tasks import care_claims_reminder
from medins.schedules import SCHEDULES

from .claim_helpers import JUNE, D, days, entry, resident_in

C = CareClaimState
SAMPLE = Path(__file__).resolve().parents[2] / "carecare" / "samples" / "care_claim_sample.csv"


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_home_posts_its_month_and_reads_each_residents_result(home, home_operator, intake):
    person = resident_in(home, user=intake, score=35)
    StayAbsence.objects.create(stay=person.care_stays.get(), from_date=D(2021, 6, 10), to_date=D(2021, 6, 15),
                               created_by=intake)
    api = _api(home_operator)
    response = api.post("/api/v1/care/claims/", {"month": "2021-06", "residents": [entry(person)]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "created" and body["state"] == "received" and body["month"] == "2021-06"
    (line,) = body["lines"]
    assert (line["days_paid"], line["days_refused"], line["fund"]) == (25, 5, "2140.00")
    assert [r["date"] for r in line["refused"]] == [f"2021-06-{d}" for d in range(10, 15)]
    assert line["refused"][0]["message"] == "当日离院住院"  # the reason in Chinese
    assert person.id_number not in response.content.decode()  # masked
    again = api.post("/api/v1/care/claims/", {"month": "2021-06", "residents": [entry(person)]}, format="json")
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    detail = api.get(f"/api/v1/care/claims/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["lines"][0]["fund"] == "2140.00"


def test_a_bad_claim_is_400_with_every_problem(home, home_operator, intake):
    person = resident_in(home, user=intake, score=35)
    bad = days(1, 2)
    bad[0]["nursing"] = "-1"
    response = _api(home_operator).post("/api/v1/care/claims/", {"month": "2021-06", "residents": [entry(person, bad)]},
                                        format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_claim" and error["errors"][0]["field"] == "nursing"


def test_a_checked_claim_cannot_be_replaced_409(home, home_operator, intake, reviewer):
    from carecare.services.claims import care_claim_check

    person = resident_in(home, user=intake, score=35)
    claim, _ = care_claim_receive(acting_user=home_operator, care_home=home, month=JUNE, residents=[entry(person)])
    care_claim_check(acting_user=reviewer, claim=claim)
    response = _api(home_operator).post("/api/v1/care/claims/", {
        "month": "2021-06", "residents": [entry(person, bed="41.00")]}, format="json")
    assert response.status_code == 409


def test_a_home_sees_only_its_own_claims_api(home, other_home, home_operator, other_operator, intake):
    mine = resident_in(home, user=intake, score=35)
    theirs = resident_in(other_home, user=intake, score=35)
    own, _ = care_claim_receive(acting_user=home_operator, care_home=home, month=JUNE, residents=[entry(mine)])
    other, _ = care_claim_receive(acting_user=other_operator, care_home=other_home, month=JUNE, residents=[entry(theirs)])
    api = _api(home_operator)
    assert [c["id"] for c in api.get("/api/v1/care/claims/").json()["results"]] == [own.pk]
    assert api.get(f"/api/v1/care/claims/{other.pk}/").status_code == 404
    # an operator's claim is always for its own home, whatever the body names
    response = api.post("/api/v1/care/claims/", {"month": "2021-06", "care_home": {"region": "220100", "code": "CC-L-002"},
                                                 "residents": [entry(mine)]}, format="json")
    assert response.json()["id"] == own.pk


def test_api_list_queries_are_pinned(home, home_operator, intake, django_assert_max_num_queries):
    for month in (4, 5, 6):
        person = resident_in(home, user=intake, score=35, admitted=D(2021, 3, 1))
        care_claim_receive(acting_user=home_operator, care_home=home, month=D(2021, month, 1),
                           residents=[entry(person, month=month)])
    api = _api(home_operator)
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/care/claims/?month=2021-06").json()["count"] == 1


# --------------------------------------------------------------------------- admin


def _claim(home, operator, intake, **kwargs):
    person = resident_in(home, user=intake, score=35)
    claim, _ = care_claim_receive(acting_user=operator, care_home=home, month=JUNE, residents=[entry(person, **kwargs)])
    return claim, person


def test_admin_list_filters_and_right_aligned_amounts(client, home, other_home, home_operator, other_operator, intake,
                                                      reviewer, django_assert_max_num_queries):
    _claim(home, home_operator, intake)
    _claim(other_home, other_operator, intake)
    client.force_login(reviewer)
    url = reverse("admin:carecare_careclaim_changelist")
    with django_assert_max_num_queries(16):
        page = client.get(url).content.decode()
    # issue 14 item 5: amounts in the shared money columns (right-aligned, "2,568.00"), counts right-aligned too
    assert page.count('<span class="money">') >= 8 and page.count("money-col") >= 8 and "2,568.00" in page
    assert page.count('class="care-amount"') >= 2 and "text-align:right" in page
    assert "CC-L-001" in client.get(url + "?month=2021-06&state=received").content.decode()
    filtered = client.get(url + f"?home={other_home.pk}").content.decode()
    assert "祥祉园" in filtered and "HL" in filtered


def test_admin_claim_page_shows_each_refused_day_and_buttons_from_the_table(client, home, home_operator, intake, reviewer,
                                                                           approver):
    claim, person = _claim(home, home_operator, intake)
    StayAbsence.objects.create(stay=person.care_stays.get(), from_date=D(2021, 6, 29), created_by=intake)
    client.force_login(reviewer)
    page = client.get(reverse("admin:carecare_careclaim_change", args=[claim.pk])).content.decode()
    assert 'data-action="check"' in page and 'data-action="reject"' in page and 'data-action="approve"' not in page
    client.post(reverse("admin:carecare_careclaim_act", args=[claim.pk]), {"action": "check"})
    claim.refresh_from_db()
    assert claim.state == C.CHECKED and claim.days_refused == 2  # re-checked on today's facts
    page = client.get(reverse("admin:carecare_careclaim_change", args=[claim.pk])).content.decode()
    assert page.count('class="refused-day"') == 2 and "2021-06-29 当日离院住院" in page
    assert 'data-action="approve"' not in page  # the reviewer may not approve
    client.force_login(approver)
    assert 'data-action="approve"' in client.get(reverse("admin:carecare_careclaim_change", args=[claim.pk])).content.decode()


def test_a_home_sees_only_its_own_claims_admin(client, home, other_home, home_operator, other_operator, intake):
    own, _ = _claim(home, home_operator, intake)
    other, _ = _claim(other_home, other_operator, intake)
    client.force_login(home_operator)
    page = client.get(reverse("admin:carecare_careclaim_changelist")).content.decode()
    assert own.number in page and other.number not in page
    response = client.get(reverse("admin:carecare_careclaim_change", args=[other.pk]))
    assert response.status_code in (302, 404)
    assert client.post(reverse("admin:carecare_careclaim_act", args=[other.pk]), {"action": "check"}).status_code == 404


def test_upload_with_preview_then_confirm(client, home, home_operator, intake):
    """The sample file's layout (Chinese headers): check first, nothing written; then confirm."""
    people = [resident_in(home, user=intake, score=35) for _ in range(2)]
    rows = ["身份证号,姓名,日期,床位费,护理费,护理耗材费,其他费用"]
    for p in people:
        rows += [f"{p.id_number},{p.name},{d['date']},40.00,60.00,15.00,0.00" for d in days(1, 30)]
    client.force_login(home_operator)
    response = client.post(reverse("admin:carecare_careclaimupload_upload"), {
        "care_home": home.pk, "month": "2021-06", "file": _file("juni.csv", "\n".join(rows))})
    upload = CareClaimUpload.objects.get()
    assert response.status_code == 302 and not CareClaim.objects.exists()  # nothing written yet
    assert upload.preview["residents"] == 2 and upload.preview["fund"] == "5136.00"
    page = client.get(reverse("admin:carecare_careclaimupload_change", args=[upload.pk])).content.decode()
    assert "5,136.00" in page and "confirm" in page  # issue 14 item 5: separators
    client.post(reverse("admin:carecare_careclaimupload_confirm", args=[upload.pk]))
    claim = CareClaim.objects.get()
    assert (claim.source, claim.fund, claim.residents) == ("upload", 5136, 2)
    client.post(reverse("admin:carecare_careclaimupload_confirm", args=[upload.pk]))  # once only
    assert CareClaim.objects.count() == 1


def test_upload_with_a_bad_row_cannot_be_confirmed(client, home, home_operator, intake):
    p = resident_in(home, user=intake, score=35)
    content = f"身份证号,日期,床位费,护理费,护理耗材费\n{p.id_number},2021-06-01,abc,60.00,15.00\n"
    client.force_login(home_operator)
    client.post(reverse("admin:carecare_careclaimupload_upload"), {"care_home": home.pk, "month": "2021-06",
                                                                   "file": _file("bad.csv", content)})
    upload = CareClaimUpload.objects.get()
    assert upload.preview["errors"][0]["row"] == 2 and upload.preview["errors"][0]["field"] == "bed"
    client.post(reverse("admin:carecare_careclaimupload_confirm", args=[upload.pk]))
    assert not CareClaim.objects.exists()


def test_the_sample_file_has_chinese_headers():
    assert SAMPLE.read_text(encoding="utf-8").splitlines()[0] == "身份证号,姓名,日期,床位费,护理费,护理耗材费,其他费用"


def _file(name, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


# --------------------------------------------------------------------------- the reminder job


def test_monthly_reminder_lists_homes_with_residents_and_no_claim(home, other_home, home_operator, intake):
    _claim(home, home_operator, intake)  # home sent June
    resident_in(other_home, user=intake, score=35)  # other_home has a resident, no claim
    result = care_claims_reminder(month="2021-06")
    assert result["homes"] == ["CC-L-002"]
    row = CareClaimReminder.objects.get(month=JUNE)
    assert row.home_count == 1 and row.homes[0]["code"] == "CC-L-002"
    care_claims_reminder(month="2021-06")  # safe to run twice
    assert CareClaimReminder.objects.count() == 1
    assert any(s.task == "carecare.care_claims_reminder" for s in SCHEDULES)


def test_a_large_claim_file_is_checked_and_received_by_jobs(client, home, home_operator, intake, settings,
                                                            django_capture_on_commit_callbacks):
    """Issue #14 item 3: a file above JOB_UPLOAD_THRESHOLD rows (one row per resident-day) is checked
    and received by background jobs, with the same preview and claim as on the page."""
    from medins.jobs import Job, JobStatus

    settings.JOB_UPLOAD_THRESHOLD = 40
    people = [resident_in(home, user=intake, score=35) for _ in range(2)]
    rows = ["身份证号,姓名,日期,床位费,护理费,护理耗材费,其他费用"]
    for p in people:
        rows += [f"{p.id_number},{p.name},{d['date']},40.00,60.00,15.00,0.00" for d in days(1, 30)]
    client.force_login(home_operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:carecare_careclaimupload_upload"), {
            "care_home": home.pk, "month": "2021-06", "file": _file("juni.csv", "\n".join(rows))})
    check = Job.objects.get()
    assert response["Location"] == reverse("admin:medins_job_progress", args=[check.pk])
    upload = CareClaimUpload.objects.get()
    assert check.status == JobStatus.DONE and not CareClaim.objects.exists()
    assert upload.preview["residents"] == 2 and upload.preview["fund"] == "5136.00"
    result = client.get(reverse("admin:medins_job_result", args=[check.pk])).content.decode()
    assert "5136.00" in result
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:carecare_careclaimupload_confirm", args=[upload.pk]))
    assert Job.objects.get(kind="care_claim_upload_import").status == JobStatus.DONE
    claim = CareClaim.objects.get()
    assert (claim.source, claim.fund, claim.residents) == ("upload", 5136, 2)
