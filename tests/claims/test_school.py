"""Schools: idempotent batches by API, CSV/XLSX upload with a per-row report, and isolation between schools."""

import base64
import datetime as dt
import io
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.models import Batch, Case, SchoolOperator
from claims.services import case_request_materials
from tests.claims.factories import PersonFactory, SchoolFactory, cover
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parents[2] / "claims" / "samples" / "school_batch_sample.csv"


@pytest.fixture
def schools(reference_data):
    from medins.models import Region

    jinan = Region.objects.get(code="370100")
    out = {}
    for key in ("A", "B"):
        school = SchoolFactory(region=jinan, kind="college", name=f"大学{key}")
        user = UserFactory(username=f"op{key}", is_staff=False)
        SchoolOperator.objects.create(user=user, school=school)
        student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school, name=f"学生{key}")
        cover(student)
        token = Token.objects.create(user=user)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        out[key] = {"school": school, "user": user, "student": student, "api": api}
    return out


def row(student, number="MZ-1", **extra):
    return {"row_id": "1", "id_number": student.id_number, "name": student.name, "case_type": "accident",
            "service_from": "2021-04-02", "institution_name": "校外医院", "institution_level": "secondary",
            "invoices": [{"issuer": "校外医院", "number": number, "issued_on": "2021-04-02", "class_a": "800.00", "class_b": "0",
                          "class_c": "0"}],
            "materials": ["invoice", "emergency_outpatient_record"], **extra}


def test_batch_with_the_same_idempotency_key_is_created_once(schools):
    """DESIGN idempotency: a retried request never creates a second batch."""
    a = schools["A"]
    body = {"cases": [row(a["student"])]}
    first = a["api"].post("/api/v1/school/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="2021-04-A-1")
    again = a["api"].post("/api/v1/school/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="2021-04-A-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Batch.objects.count() == 1 and Case.objects.count() == 1


def test_bad_rows_are_reported_and_good_rows_kept(schools):
    """Per-row report: good rows kept when others fail, each rejection with its reason."""
    a, b = schools["A"], schools["B"]
    rows = [row(a["student"], "G-1"), row(b["student"], "X-1"), row(a["student"], "G-1"), {**row(a["student"], "T-1"), "case_type": "nope"}]
    response = a["api"].post("/api/v1/school/batches/", {"batch_id": "b1", "cases": rows}, format="json")
    report = response.json()["report"]
    assert [r["status"] for r in report] == ["accepted", "rejected", "rejected", "rejected"]
    assert "本校" in report[1]["errors"][0]  # school B's student: not ours
    assert report[2]["earlier_case"] == report[0]["case"]  # duplicate invoice points at the earlier case
    assert report[3]["field"] == "case_type"
    assert Case.objects.count() == 1


def test_per_case_attachments_are_stored(schools):
    a = schools["A"]
    r = row(a["student"], attachments=[{"material": "invoice", "filename": "inv.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}])
    a["api"].post("/api/v1/school/batches/", {"batch_id": "att", "cases": [r]}, format="json")
    assert bytes(Case.objects.get().attachments.get().content) == b"%PDF"


def test_school_never_reads_another_schools_data(schools, make_clerk):
    """DESIGN object-level permissions: school A never reads school B's batches, cases or notices."""
    a, b = schools["A"], schools["B"]
    b["api"].post("/api/v1/school/batches/", {"batch_id": "B-1", "cases": [row(b["student"], "B-INV")]}, format="json")
    case_b = Case.objects.get()
    notice = case_request_materials(acting_user=make_clerk("clerkx"), case=case_b)
    batch_b = Batch.objects.get()
    api = a["api"]
    assert api.get("/api/v1/school/batches/").json()["results"] == []
    assert api.get("/api/v1/school/cases/").json()["results"] == []
    assert api.get("/api/v1/school/notices/").json()["results"] == []
    assert api.get(f"/api/v1/school/batches/{batch_b.pk}/").status_code == 404
    assert api.get(f"/api/v1/school/cases/{case_b.pk}/").status_code == 404
    # the portal pages too
    from django.test import Client

    web = Client()
    web.force_login(a["user"])
    assert web.get(reverse("portal:batch", args=[batch_b.pk])).status_code == 404
    assert web.get(reverse("portal:case", args=[case_b.pk])).status_code == 404
    assert web.get(reverse("portal:notice", args=[notice.pk])).status_code == 404
    assert case_b.number not in web.get(reverse("portal:home")).content.decode()
    # and school B does see its own
    assert b["api"].get(f"/api/v1/school/cases/{case_b.pk}/").json()["notices"][0]["id"] == notice.pk


def test_non_operator_cannot_use_the_school_api(schools, make_clerk):
    api = APIClient()
    api.force_authenticate(make_clerk("staffer"))
    assert api.get("/api/v1/school/cases/").status_code == 403
    assert APIClient().get("/api/v1/school/cases/").status_code in (401, 403)


def test_portal_upload_of_the_sample_file_reports_each_row(reference_data):
    """The shipped sample: two good rows, one bad (the same invoice again)."""
    from django.core.management import call_command
    from django.test import Client

    call_command("claims_demo_data", stdout=io.StringIO())
    op = SchoolOperator.objects.get(user__username="school_operator")
    web = Client()
    web.force_login(op.user)
    with SAMPLE.open("rb") as fh:
        response = web.post(reverse("portal:upload"), {"batch_id": "sample-1", "file": fh})
    assert response.status_code == 302
    batch = Batch.objects.get(client_batch_id="sample-1")
    assert [r["status"] for r in batch.report] == ["accepted", "accepted", "rejected"]
    assert batch.report[2]["earlier_case"] == batch.report[0]["case"]
    page = web.get(response["Location"]).content.decode()
    assert "未受理" in page and "已受理" in page
    # uploading the same file again creates nothing new
    with SAMPLE.open("rb") as fh:
        web.post(reverse("portal:upload"), {"batch_id": "sample-1", "file": fh})
    assert Batch.objects.filter(school=op.school).count() == 1


def test_portal_upload_xlsx(schools):
    from django.test import Client
    from openpyxl import Workbook

    a = schools["A"]
    wb = Workbook()
    ws = wb.active
    ws.append(["id_number", "case_type", "service_from", "institution_name", "institution_level", "invoice_issuer", "invoice_number",
               "invoice_date", "class_a"])
    ws.append([a["student"].id_number, "accident", dt.date(2021, 4, 2), "校外医院", "secondary", "校外医院", "X-1", dt.date(2021, 4, 2), 500])
    ws.append([a["student"].id_number, "accident", "not a date", "校外医院", "secondary", "校外医院", "X-2", "2021-04-02", 500])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "batch.xlsx"
    web = Client()
    web.force_login(a["user"])
    web.post(reverse("portal:upload"), {"batch_id": "x1", "file": buf})
    batch = Batch.objects.get(client_batch_id="x1")
    assert [r["status"] for r in batch.report] == ["accepted", "rejected"]


def test_portal_requires_login(client):
    assert client.get(reverse("portal:home")).status_code == 302


def test_portal_login_lands_on_the_portal_home(schools):
    """A school operator who logs in at /portal/login/ lands on the portal, not on a 404."""
    from django.test import Client

    from medins.demo import DEMO_PASSWORD

    op = SchoolOperator.objects.first()
    op.user.set_password(DEMO_PASSWORD)
    op.user.save()
    response = Client().post(reverse("portal:login"), {"username": op.user.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_portal_offers_the_sample_batch_file_to_operators_only(schools, make_clerk):
    """A school downloads the sample to see the columns; an agency clerk is no school operator."""
    from django.test import Client

    web = Client()
    web.force_login(SchoolOperator.objects.first().user)
    response = web.get(reverse("portal:sample"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SAMPLE.read_bytes()
    clerk = Client()
    clerk.force_login(make_clerk("staffer"))
    assert clerk.get(reverse("portal:sample")).status_code == 403


def test_portal_case_page_lists_the_schools_attachments_and_only_its_own(schools):
    """A school reads back what it sent with a case; school B cannot fetch school A's scan."""
    from django.test import Client

    a = schools["A"]
    r = row(a["student"], attachments=[{"material": "invoice", "filename": "inv.pdf", "content_base64": base64.b64encode(b"%PDF").decode()}])
    a["api"].post("/api/v1/school/batches/", {"batch_id": "att", "cases": [r]}, format="json")
    case = Case.objects.get()
    attachment = case.attachments.get()
    url = reverse("portal:attachment", args=[case.pk, attachment.pk])
    web_a = Client()
    web_a.force_login(SchoolOperator.objects.get(school__name="大学A").user)
    assert url in web_a.get(reverse("portal:case", args=[case.pk])).content.decode()
    response = web_a.get(url)
    assert response.content == b"%PDF" and "inv.pdf" in response["Content-Disposition"]
    web_b = Client()
    web_b.force_login(SchoolOperator.objects.get(school__name="大学B").user)
    assert web_b.get(url).status_code == 404


def test_university_portal_header_does_not_say_primary_or_secondary_pupil(schools, client):
    """Issue #14 item 8: the portal's case table names its column 学生, not the category label
    在校中小学生 (wrong for a university)."""
    client.force_login(schools["A"]["user"])

    html = client.get(reverse("portal:home")).content.decode()

    assert "在校中小学生" not in html and "<th>学生</th>" in html


def test_admin_login_points_schools_to_the_portal(client):
    """Issue #14 item 8: the admin login page tells a school's operator where to log in."""
    html = client.get("/admin/login/").content.decode()

    assert 'id="portal-pointer"' in html and reverse("portal:login") in html and "学校" in html


def _incomplete_case(schools, make_clerk):
    """School A's case sent without its emergency record, and the agency's notice asking for it."""
    a = schools["A"]
    a["api"].post("/api/v1/school/batches/", {"batch_id": "m1", "cases": [row(a["student"], materials=["invoice"])]},
                  format="json")
    case = Case.objects.get()
    case_request_materials(acting_user=make_clerk("reviewer"), case=case)
    return case


def _portal(school_name):
    from django.test import Client

    web = Client()
    web.force_login(SchoolOperator.objects.get(school__name=school_name).user)
    return web


def test_school_sends_the_missing_materials_through_the_portal(schools, make_clerk):
    """Issue #14 item 8: after the notice of missing materials the school sends the scans from the portal;
    they are attached, the material is ticked and the case goes back to the agency (resubmitted)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = _incomplete_case(schools, make_clerk)
    web = _portal("大学A")
    url = reverse("portal:case-materials", args=[case.pk])
    assert url in web.get(reverse("portal:case", args=[case.pk])).content.decode()
    page = web.get(url).content.decode()
    assert "doc_emergency_outpatient_record" in page and "doc_invoice" not in page  # only what is missing
    response = web.post(url, {"doc_emergency_outpatient_record": SimpleUploadedFile("er.pdf", b"%PDF-1.4 scan"),
                              "resubmit": "on", "note": "补交急诊病历"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "resubmitted"
    assert case.materials.get(code="emergency_outpatient_record").received
    attachment = case.attachments.get(material_code="emergency_outpatient_record")
    assert bytes(attachment.content) == b"%PDF-1.4 scan" and attachment.filename == "er.pdf"
    assert case.transitions.last().reason == "补交急诊病历"
    # the sent material is no longer asked for; once nothing is missing the page returns to the case
    assert "doc_emergency_outpatient_record" not in web.get(url).content.decode()
    case.materials.update(received=True)
    assert web.get(url).status_code == 302


def test_portal_materials_refuse_a_non_scan_and_write_nothing(schools, make_clerk):
    """A file that is not a scan is refused naming the material's field; the case does not move."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = _incomplete_case(schools, make_clerk)
    web = _portal("大学A")
    response = web.post(reverse("portal:case-materials", args=[case.pk]),
                        {"doc_emergency_outpatient_record": SimpleUploadedFile("er.txt", b"hello"), "resubmit": "on"})
    assert response.status_code == 200
    assert "doc_emergency_outpatient_record" in response.content.decode()
    case.refresh_from_db()
    assert case.state == "materials_incomplete" and not case.attachments.exists()
    # and sending nothing at all is refused too
    response = web.post(reverse("portal:case-materials", args=[case.pk]), {"resubmit": "on"})
    assert response.status_code == 200 and Case.objects.get().state == "materials_incomplete"


def test_another_school_cannot_send_materials_for_a_case(schools, make_clerk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = _incomplete_case(schools, make_clerk)
    response = _portal("大学B").post(reverse("portal:case-materials", args=[case.pk]),
                                     {"doc_emergency_outpatient_record": SimpleUploadedFile("er.pdf", b"%PDF")})
    assert response.status_code == 404
    assert not Case.objects.get().attachments.exists()


def test_portal_batch_report_gives_every_refusal_in_chinese(schools):
    """Issue 14 item 4: the school reads each refused row's reason in Chinese, the field named by its
    column header ("身份证号: 不是本校参保学生"), with no English left in (the old texts carried an
    English gloss, e.g. "（not an insured student of this school）", or were English only)."""
    import re

    from django.test import Client

    a, b = schools["A"], schools["B"]
    header = "行号,身份证号,姓名,报销类型,就诊开始日期,医疗机构编码,医疗机构名称,医院级别,开票单位,发票号码,开票日期,甲类费用,材料"

    def line(n, student, *, name=None, case_type="accident", day="2021-04-02", code="", level="secondary"):
        return (f"{n},{student.id_number},{name or student.name},{case_type},{day},{code},校外医院,{level},校外医院,"
                f"ZH-{n},2021-04-02,500.00,invoice;emergency_outpatient_record")

    rows = [line(1, b["student"]), line(2, a["student"], name="别人"), line(3, a["student"], case_type="nope"),
            line(4, a["student"], code="NOT-A-CODE"), line(5, a["student"], level="galactic"),
            line(6, a["student"], day="2022-04-02"), line(7, a["student"], day="四月二日")]
    upload = io.BytesIO(("\n".join([header, *rows]) + "\n").encode())
    upload.name = "refused.csv"
    web = Client()
    web.force_login(a["user"])
    response = web.post(reverse("portal:upload"), {"batch_id": "zh-1", "file": upload})
    batch = Batch.objects.get(client_batch_id="zh-1")
    assert response.status_code == 302

    html = web.get(reverse("portal:batch", args=[batch.pk])).content.decode()
    reasons = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'<td class="wrap">(.*?)</td>', html, re.S)]
    assert len(reasons) == 7
    assert [r.partition(": ")[2] for r in reasons[:5]] == [
        "不是本校参保学生", "姓名与身份证号不符", "未知的报销类型", "不是本地定点医疗机构编码", "未知的医院级别"]
    assert [r.partition(": ")[0] for r in reasons[:5]] == ["身份证号", "姓名", "报销类型", "医疗机构编码", "医院级别"]
    assert "2022-04-02 未参保" in reasons[5]  # accepted, then rejected: not covered on the service date
    assert reasons[6].startswith("就诊开始日期") and "年-月-日" in reasons[6]  # the format hint too
    english = [w for r in reasons for w in re.findall(r"[A-Za-z]{2,}", r) if w not in {"ID"}]
    assert not english, reasons
