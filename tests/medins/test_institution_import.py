"""Importing designated institutions from CSV/XLSX with a preview (issue 12 item 3, issue 13 item 2;
DOMAIN.md §2 designated institutions, §4.2 township centres)."""

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from openpyxl import Workbook

from medins.models import Institution, InstitutionImport
from medins.services.institution_import import (
    ImportRefused,
    institution_import_check,
    institution_import_confirm,
    report_for_display,
)
from medins.uploads import UploadStatus

SAMPLE = Path(__file__).resolve().parents[2] / "medins" / "samples" / "institutions_sample.csv"
HEADER = "地区编码,机构编码,机构名称,机构类别,级别,定点资格,乡镇卫生院,开户银行,银行账号,账户名称,有效\n"


@pytest.fixture
def admin_user(user_factory):
    return user_factory(username="refadmin", is_superuser=True, is_staff=True)


@pytest.fixture
def policy_admin(user_factory):
    user = user_factory(username="policy", is_staff=True)
    user.groups.add(Group.objects.get(name="policy_admin"))
    return user


def check(user, text, filename="i.csv"):
    return institution_import_check(acting_user=user, filename=filename, content=text.encode("utf-8"))


def codes(designations):
    return {d.code for d in designations.all()}


def test_preview_writes_nothing_then_confirm_imports_the_good_rows(db, admin_user):
    # given: the shipped sample (5 good rows, 2 bad: an unknown designation, a township hospital)
    before = Institution.objects.count()
    upload = check(admin_user, SAMPLE.read_text(encoding="utf-8"), filename=SAMPLE.name)
    # then: a preview and nothing written
    assert Institution.objects.count() == before
    assert not Institution.objects.filter(code="CC-L-101").exists()
    assert upload.status == UploadStatus.CHECKED
    assert (upload.preview["created"], upload.preview["updated"], len(upload.preview["errors"])) == (4, 1, 2)
    # when: confirmed
    done = institution_import_confirm(acting_user=admin_user, upload=upload)
    # then: the good rows are in, the bad ones are not
    assert done.status == UploadStatus.DONE and done.result["created"] == 4
    assert Institution.objects.count() == before + 4
    home = Institution.objects.get(region__code="220100", code="CC-L-101")
    assert (home.kind, home.level, codes(home.designations)) == ("care_home", "ungraded", {"ltc_home"})
    assert home.bank_account == "6222020200112345678" and home.bank_name == "中国工商银行长春分行"
    township = Institution.objects.get(code="CC-C-102")
    assert township.township and township.level == "primary"
    assert codes(township.designations) == {"outpatient_pool", "chronic_treatment"}
    jinan = Institution.objects.get(region__code="370100", code="JN-C-101")
    assert codes(jinan.designations) == {"two_diseases", "chronic_treatment"}  # Chinese name and code mixed
    assert not Institution.objects.filter(code__in=["CC-L-102", "CC-H-101"]).exists()


def test_each_bad_row_names_its_field_in_chinese(db, admin_user, settings):
    upload = check(admin_user, SAMPLE.read_text(encoding="utf-8"))
    settings.LANGUAGE_CODE = "zh-hans"
    from django.utils import translation

    with translation.override("zh-hans"):
        errors = report_for_display(upload.preview)["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(7, "定点资格"), (8, "乡镇卫生院")]
    assert "长期照护" in errors[0]["message"]
    assert "一级" in errors[1]["message"] or "乡镇卫生院" in errors[1]["message"]


def test_a_second_import_of_the_same_file_changes_nothing(db, admin_user):
    text = SAMPLE.read_text(encoding="utf-8")
    institution_import_confirm(acting_user=admin_user, upload=check(admin_user, text))
    history = Institution.history.count()
    again = institution_import_confirm(acting_user=admin_user, upload=check(admin_user, text))
    assert (again.result["created"], again.result["updated"], again.result["unchanged"]) == (0, 0, 5)
    assert Institution.history.count() == history


def test_a_checked_file_is_imported_once(db, admin_user):
    upload = check(admin_user, SAMPLE.read_text(encoding="utf-8"))
    institution_import_confirm(acting_user=admin_user, upload=upload)
    with pytest.raises(ImportRefused):
        institution_import_confirm(acting_user=admin_user, upload=upload)


def test_update_sets_designations_as_the_file_says_and_keeps_empty_cells(db, admin_user):
    # CC-H-006 市中心医院 holds chronic_exam, special_drug_hospital, referral_approval, special_disease
    hospital = Institution.objects.get(region__code="220100", code="CC-H-006")
    hospital.bank_account, hospital.bank_name = "6222000011112222", "某银行"
    hospital.save()
    text = HEADER + "220100,CC-H-006,长春市中心医院,医院,三级（市级）,门诊慢性病体检认定、特药定点医院,,,,,\n"
    upload = institution_import_confirm(acting_user=admin_user, upload=check(admin_user, text))
    assert upload.result["updated"] == 1
    hospital.refresh_from_db()
    assert codes(hospital.designations) == {"chronic_exam", "special_drug_hospital"}  # two removed
    assert (hospital.bank_account, hospital.bank_name, hospital.active) == ("6222000011112222", "某银行", True)
    assert upload.result["changes"][0]["fields"] == ["designations"]


def test_the_import_is_audited(db, admin_user):
    text = HEADER + "220100,CC-L-201,甲照护机构,照护机构,无级别,长期照护定点机构,否,,,,是\n"
    institution_import_confirm(acting_user=admin_user, upload=check(admin_user, text))
    record = Institution.objects.get(code="CC-L-201").history.earliest()
    assert record.history_user == admin_user
    assert record.history_change_reason == "institution_import"
    text = HEADER + "220100,CC-L-201,甲照护机构,照护机构,无级别,长期照护定点机构,否,,,,否\n"
    institution_import_confirm(acting_user=admin_user, upload=check(admin_user, text))
    latest = Institution.objects.get(code="CC-L-201").history.latest()
    assert latest.active is False and latest.history_user == admin_user


@pytest.mark.parametrize(("row", "field"), [
    ("999999,X-1,甲,医院,二级,门诊统筹,,,,,", "region"),
    ("220100,,甲,医院,二级,门诊统筹,,,,,", "code"),
    ("220100,X-1,,医院,二级,门诊统筹,,,,,", "name"),
    ("220100,X-1,甲,飞机场,二级,门诊统筹,,,,,", "kind"),
    ("220100,X-1,甲,医院,五级,门诊统筹,,,,,", "level"),
    ("220100,X-1,甲,医院,二级,,,,,,", "designations"),
    ("220100,X-1,甲,医院,二级,门诊统筹,也许,,,,", "township"),
    ("220100,X-1,甲,医院,二级,门诊统筹,,,=HYPERLINK(1),,", "bank_account"),
    ("220100,X-1,甲,医院,二级,门诊统筹,,,,,可能", "active"),
])
def test_a_bad_value_is_a_row_error_naming_its_field(db, admin_user, row, field):
    text = HEADER + row + "\n" + "220100,X-2,乙卫生院,诊所,一级,门诊统筹,是,,,,\n"
    upload = check(admin_user, text)
    assert [(e["row"], e["field"]) for e in upload.preview["errors"]] == [(2, field)]
    assert upload.preview["created"] == 1  # the good row is not lost


def test_the_same_institution_twice_in_a_file_is_refused_the_second_time(db, admin_user):
    text = HEADER + "220100,X-1,甲,医院,二级,门诊统筹,,,,,\n220100,X-1,甲乙,医院,二级,门诊统筹,,,,,\n"
    upload = check(admin_user, text)
    assert upload.preview["created"] == 1
    assert [(e["row"], e["field"]) for e in upload.preview["errors"]] == [(3, "code")]


def test_a_file_without_a_required_column_is_refused(db, admin_user):
    with pytest.raises(ImportRefused, match="designations"):
        check(admin_user, "地区编码,机构编码,机构名称,机构类别,级别\n220100,X-1,甲,医院,二级\n")
    assert not InstitutionImport.objects.exists()


def test_an_xlsx_file_with_english_headers_is_read(db, admin_user):
    book = Workbook()
    sheet = book.active
    sheet.append(["region", "code", "name", "kind", "level", "designations", "township"])
    sheet.append([220100, "X-9", "丙卫生院", "clinic", "primary", "outpatient_pool|chronic_treatment", True])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = institution_import_check(acting_user=admin_user, filename="i.xlsx", content=buffer.getvalue())
    assert upload.preview["errors"] == [] and upload.preview["created"] == 1


# --------------------------------------------------------------------------- the admin pages


def test_policy_admin_uploads_checks_and_confirms_in_the_admin(db, client, policy_admin):
    client.force_login(policy_admin)
    page = client.get(reverse("admin:medins_institution_changelist"))
    assert reverse("admin:medins_institutionimport_upload") in page.content.decode()
    with SAMPLE.open("rb") as fh:
        response = client.post(reverse("admin:medins_institutionimport_upload"), {"file": fh})
    upload = InstitutionImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{upload.pk}/change/")
    page = client.get(response["Location"]).content.decode()
    assert 'id="row-errors"' in page and "CC-L-102" in page and 'id="row-changes"' in page
    assert not Institution.objects.filter(code="CC-L-101").exists()
    response = client.post(reverse("admin:medins_institutionimport_confirm", args=[upload.pk]))
    assert response.status_code == 302
    assert Institution.objects.filter(code="CC-L-101").exists()
    assert client.get(reverse("admin:medins_institutionimport_sample")).content == SAMPLE.read_bytes()


def test_roles_without_the_import_permission_cannot_upload(db, client, user_factory):
    for role in ("reviewer", "supervisor", "intake_clerk"):
        user = user_factory(username=f"u_{role}", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        assert client.get(reverse("admin:medins_institutionimport_upload")).status_code == 403
        with SAMPLE.open("rb") as fh:
            assert client.post(reverse("admin:medins_institutionimport_upload"), {"file": fh}).status_code == 403
    assert not InstitutionImport.objects.exists()


def test_bank_accounts_are_masked_in_the_institution_list(db, client, policy_admin, django_assert_max_num_queries):
    Institution.objects.filter(code="CC-H-001").update(bank_account="6222020200112345678")
    client.force_login(policy_admin)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:medins_institution_changelist") + "?q=CC-H-001").content.decode()
    assert "6222***********5678" in page
    assert "6222020200112345678" not in page


def test_a_large_institution_file_is_checked_and_imported_by_jobs(db, client, policy_admin, settings,
                                                                  django_capture_on_commit_callbacks):
    """Issue #14 item 3: above JOB_UPLOAD_THRESHOLD rows the check and the import are background jobs
    (progress page, result page linking the upload's page); the upload cannot be confirmed while pending."""
    from medins.jobs import Job, JobStatus

    settings.JOB_UPLOAD_THRESHOLD = 3  # the 7-row sample counts as large
    client.force_login(policy_admin)
    with SAMPLE.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:medins_institutionimport_upload"), {"file": fh})
    check_job = Job.objects.get()
    assert response["Location"] == reverse("admin:medins_job_progress", args=[check_job.pk])
    assert check_job.kind == "institution_import_check" and check_job.status == JobStatus.DONE
    upload = InstitutionImport.objects.get()
    assert (upload.preview["created"], len(upload.preview["errors"])) == (4, 2)
    assert not Institution.objects.filter(code="CC-L-101").exists()
    result = client.get(reverse("admin:medins_job_result", args=[check_job.pk])).content.decode()
    assert reverse("admin:medins_institutionimport_change", args=[upload.pk]) in result
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:medins_institutionimport_confirm", args=[upload.pk]))
    import_job = Job.objects.get(kind="institution_import_import")
    assert response["Location"] == reverse("admin:medins_job_progress", args=[import_job.pk])
    assert import_job.status == JobStatus.DONE
    assert Institution.objects.filter(code="CC-L-101").exists()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE and upload.result["created"] == 4


def test_a_pending_institution_file_is_not_confirmed(db, admin_user):
    from medins.services.institution_import import institution_import_store

    upload = institution_import_store(acting_user=admin_user, filename=SAMPLE.name, content=SAMPLE.read_bytes())
    with pytest.raises(ImportRefused):
        institution_import_confirm(acting_user=admin_user, upload=upload)
    assert not Institution.objects.filter(code="CC-L-101").exists()
