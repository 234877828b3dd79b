"""Institution operators (DESIGN "Permissions": an institution only sees its own data) and the
admin upload pages for visits and sign-up lists (upload → check, every problem naming its field
→ confirm)."""

import datetime as dt
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from claims.settlement.models import InstitutionOperator, PoolMembership, PoolUpload, UploadStatus, Visit
from claims.settlement.services import pool_members_sync_schools, visits_ingest
from claims.settlement.services.uploads import UploadRefused, pool_upload_check
from medins.models import Designation, Institution
from medins.roles import roles_sync
from tests.enrollment import factories as ef
from tests.settlement.conftest import visit


@pytest.fixture
def other(jinan):
    """Institution B: a second outpatient-pool clinic of Jinan."""
    inst = Institution.objects.create(region=jinan, code="JN-B-001", name="B 社区门诊", kind="clinic", level="primary")
    inst.designations.add(Designation.objects.get(code="outpatient_pool"))
    return inst


@pytest.fixture
def operator_of(db):
    roles_sync()

    def make(institution, username):
        user = ef.UserFactory(username=username, is_staff=True)
        user.groups.add(Group.objects.get(name="institution_operator"))
        InstitutionOperator.objects.create(user=user, institution=institution)
        return user

    return make


@pytest.fixture
def clerk(db):
    roles_sync()
    user = ef.UserFactory(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name="intake_clerk"))
    return user


@pytest.fixture
def two_institutions(jinan, clinic, other, make_student):
    """A student of A (the school clinic, by school sync) and a student signed up with B; one visit at A."""
    a_student = make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    b_member = make_student(name="乙居民")  # signed with B before any school sync could place them
    PoolMembership.objects.create(person=b_member, institution=other, year=2021, source="signup")
    visits_ingest(acting_user=None, institution=clinic, rows=[visit("A-1", a_student, dt.date(2021, 3, 1))])
    return a_student, b_member


def _visits_url(code):
    return reverse("v1:settlement-visits", args=["370100", code])


def test_operator_cannot_post_or_read_visits_of_another_institution(client, clinic, other, operator_of,
                                                                    two_institutions):
    """DESIGN "Permissions": object-level checks — institution A can never read or write B's data."""
    _a_student, b_member = two_institutions
    client.force_login(operator_of(clinic, "op_a"))
    body = {"visits": [visit("X-1", b_member, dt.date(2021, 3, 2))]}
    assert client.post(_visits_url("JN-B-001"), json.dumps(body), content_type="application/json").status_code == 404
    assert client.get(_visits_url("JN-B-001")).status_code == 404
    assert client.get(reverse("v1:settlement-signups", args=["370100", "JN-B-001"])).status_code == 404
    signup = {"year": 2021, "signups": [{"id_number": b_member.id_number}]}
    assert client.post(reverse("v1:settlement-signups", args=["370100", "JN-B-001"]), json.dumps(signup),
                       content_type="application/json").status_code == 404
    assert not Visit.objects.filter(institution=other).exists()
    assert PoolMembership.objects.filter(institution=other).count() == 1
    own = client.get(_visits_url("JN-S-001")).json()
    assert [v["visit_id"] for v in own["results"]] == ["A-1"]


def test_operator_posts_visits_and_signups_for_its_own_institution(client, other, operator_of, two_institutions,
                                                                   make_student):
    _a, b_member = two_institutions
    newcomer = make_student(school=None, name="丙居民")
    client.force_login(operator_of(other, "op_b"))
    signups = client.post(reverse("v1:settlement-signups", args=["370100", "JN-B-001"]),
                          json.dumps({"year": 2021, "signups": [{"id_number": newcomer.id_number,
                                                                 "signed_on": "2021-01-05"}]}),
                          content_type="application/json").json()
    assert (signups["created"], signups["errors"]) == (1, [])
    posted = client.post(_visits_url("JN-B-001"), json.dumps({"visits": [visit("B-1", b_member, dt.date(2021, 4, 1))]}),
                         content_type="application/json").json()
    assert posted["created"] == 1
    listed = client.get(reverse("v1:settlement-signups", args=["370100", "JN-B-001"])).json()
    assert sorted(m["name"] for m in listed["results"]) == ["丙居民", "乙居民"]
    assert all("*" in m["id_number"] for m in listed["results"])  # masked (DESIGN "Personal data")


def test_operator_sees_only_its_own_rows_in_the_admin(client, clinic, other, operator_of, two_institutions):
    """DESIGN "Permissions" in the admin: the changelists and change pages are scoped to the institution."""
    _a, b_member = two_institutions
    visits_ingest(acting_user=None, institution=other, rows=[visit("B-1", b_member, dt.date(2021, 3, 1))])
    client.force_login(operator_of(clinic, "op_a"))
    page = client.get(reverse("admin:settlement_visit_changelist")).content.decode()
    assert "A-1" in page and "B-1" not in page
    assert "上传就诊记录" in page  # the upload link, in Chinese (zh_Hans catalogue)
    b_visit = Visit.objects.get(visit_id="B-1")
    assert client.get(reverse("admin:settlement_visit_change", args=[b_visit.pk])).status_code in (302, 404)
    members = client.get(reverse("admin:settlement_poolmembership_changelist")).content.decode()
    assert "乙居民" not in members


def _csv(text: str, name="visits.csv"):
    f = io.BytesIO(text.encode("utf-8-sig"))
    f.name = name
    return f


def test_operator_upload_form_offers_only_its_institution(client, clinic, other, operator_of, two_institutions):
    _a, b_member = two_institutions
    client.force_login(operator_of(clinic, "op_a"))
    url = reverse("admin:settlement_poolupload_upload")
    form = client.get(url).content.decode()
    assert "山东大学校医院" in form and "B 社区门诊" not in form
    response = client.post(url, {"kind": "visits", "institution": other.pk, "file": _csv(
        f"visit_id,id_number,service_date,class_a,class_b,class_c\nX-1,{b_member.id_number},2021-03-02,10,0,0\n")})
    assert response.status_code == 200  # the form refuses the choice
    assert not PoolUpload.objects.exists() and not Visit.objects.filter(institution=other).exists()


def test_the_service_refuses_another_institution_even_without_the_form(clinic, other, operator_of):
    with pytest.raises(UploadRefused):
        pool_upload_check(acting_user=operator_of(clinic, "op_a"), kind="visits", institution=other, year=None,
                          filename="v.csv", content=b"visit_id\nX\n")


def test_visit_upload_checks_every_row_naming_the_field_then_imports_once(client, clinic, clerk, two_institutions):
    a_student, b_member = two_institutions
    client.force_login(clerk)
    content = ("visit_id,id_number,service_date,class_a,class_b,class_c\n"
               f"U-1,{a_student.id_number},2021-05-02,40.00,0,0\n"
               f"U-2,{a_student.id_number},2021-13-01,10.00,0,0\n"      # bad date
               f"U-3,{b_member.id_number},2021-05-03,10.00,0,0\n"       # member of B, not of A
               f"U-4,{a_student.id_number},2021-05-04,abc,0,0\n"        # bad amount
               f"A-1,{a_student.id_number},2021-03-01,100.00,0,0\n")    # already received
    response = client.post(reverse("admin:settlement_poolupload_upload"),
                           {"kind": "visits", "institution": clinic.pk, "file": _csv(content)})
    assert response.status_code == 302
    upload = PoolUpload.objects.get()
    assert Visit.objects.filter(visit_id="U-1").count() == 0  # checked only
    problems = {e["row"]: e["field"] for e in upload.preview["errors"]}
    assert problems == {2: "service_date", 3: "id_number", 4: "class_a"}
    assert (upload.preview["created"], upload.preview["duplicates"]) == (1, 1)
    page = client.get(response["Location"]).content.decode()
    # the field column names the columns by their Chinese headers (issue 14 item 4)
    assert "就诊日期" in page and "甲类费用" in page and "U-2" in page
    confirm = reverse("admin:settlement_poolupload_confirm", args=[upload.pk])
    client.post(confirm)
    client.post(confirm)  # a second confirmation changes nothing
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE and upload.result["created"] == 1
    assert Visit.objects.filter(visit_id="U-1").get().fund == visits_fund("40.00")


def test_a_visit_file_with_chinese_headers_is_checked_and_reported_in_chinese(client, clinic, clerk, two_institutions):
    """Issue 14 item 4: the sample's Chinese headers are read like the English ones; problems in Chinese."""
    a_student, b_member = two_institutions
    client.force_login(clerk)
    content = ("就诊流水号,身份证号,就诊日期,甲类费用,乙类费用,丙类费用\n"
               f"Z-1,{a_student.id_number},2021-05-02,40.00,0,0\n"
               f"Z-2,{b_member.id_number},2021-05-03,10.00,0,0\n")      # member of B, not of A
    response = client.post(reverse("admin:settlement_poolupload_upload"),
                           {"kind": "visits", "institution": clinic.pk, "file": _csv(content)})
    assert response.status_code == 302
    upload = PoolUpload.objects.get()
    assert upload.preview["created"] == 1 and [e["field"] for e in upload.preview["errors"]] == ["id_number"]
    page = client.get(response["Location"]).content.decode()
    assert "2021 年度不是本机构门诊统筹签约人员" in page and "not a member" not in page
    wrong = client.post(reverse("admin:settlement_poolupload_upload"),
                        {"kind": "visits", "institution": clinic.pk, "file": _csv("就诊流水号,身份证号\nZ-3,1\n")})
    assert "缺少列" in wrong.content.decode() and "就诊日期" in wrong.content.decode()


def visits_fund(a):
    from decimal import Decimal
    return (Decimal(a) * Decimal("0.65")).quantize(Decimal("0.01"))


def test_signup_upload_xlsx_for_an_institution(client, other, clerk, two_institutions, make_student):
    from openpyxl import Workbook

    _a, b_member = two_institutions
    newcomer = make_student(school=None, name="丁居民")
    book = Workbook()
    sheet = book.active
    sheet.append(["id_number", "signed_on"])
    sheet.append([newcomer.id_number, dt.date(2021, 2, 1)])
    sheet.append(["370102200103040000", "2021-02-01"])  # nobody
    sheet.append([b_member.id_number, "2021-02-01"])    # already a member of B: unchanged
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "signups.xlsx"
    client.force_login(clerk)
    response = client.post(reverse("admin:settlement_poolupload_upload"),
                           {"kind": "signups", "institution": other.pk, "year": 2021, "file": out})
    assert response.status_code == 302
    upload = PoolUpload.objects.get()
    assert [(e["row"], e["field"]) for e in upload.preview["errors"]] == [(2, "id_number")]
    assert (upload.preview["created"], upload.preview["unchanged"]) == (1, 1)
    assert not PoolMembership.objects.filter(person=newcomer).exists()
    client.post(reverse("admin:settlement_poolupload_confirm", args=[upload.pk]))
    assert PoolMembership.objects.get(person=newcomer).institution == other


def test_operator_cannot_open_or_confirm_another_institutions_upload(client, clinic, other, clerk, operator_of,
                                                                      two_institutions):
    _a, b_member = two_institutions
    upload = pool_upload_check(acting_user=clerk, kind="visits", institution=other, year=None, filename="v.csv",
                               content=("visit_id,id_number,service_date,class_a,class_b,class_c\n"
                                        f"B-9,{b_member.id_number},2021-06-01,10,0,0\n").encode())
    client.force_login(operator_of(clinic, "op_a"))
    assert client.get(reverse("admin:settlement_poolupload_change", args=[upload.pk])).status_code == 404
    assert client.post(reverse("admin:settlement_poolupload_confirm", args=[upload.pk])).status_code == 404
    assert not Visit.objects.filter(visit_id="B-9").exists()


@pytest.mark.parametrize("extra", [1, 25])
def test_operator_visit_list_queries_do_not_grow(client, clinic, operator_of, make_student, jinan,
                                                 django_assert_max_num_queries, extra):
    students = [make_student() for _ in range(extra)]
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    visits_ingest(acting_user=None, institution=clinic,
                  rows=[visit(f"Q-{i}", s, dt.date(2021, 3, 1)) for i, s in enumerate(students)])
    client.force_login(operator_of(clinic, "op_a"))
    with django_assert_max_num_queries(8):
        assert client.get(_visits_url("JN-S-001")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:settlement_visit_changelist")).status_code == 200
