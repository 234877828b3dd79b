"""Issue #14 item 3: a visits file above JOB_UPLOAD_THRESHOLD rows is checked and imported by
background jobs (Celery, eager here) with progress and a result page; a small file stays on the page;
an operator cannot follow another institution's upload job."""

import datetime as dt
import io

import pytest
from django.urls import reverse

from claims.settlement.models import PoolUpload, UploadStatus, Visit
from claims.settlement.services.uploads import UploadRefused, pool_upload_confirm
from medins.jobs import Job, JobStatus
from tests.settlement.test_operators_and_uploads import clerk, operator_of, other, two_institutions  # noqa: F401

pytestmark = pytest.mark.django_db


def _csv(text: str, name="visits.csv"):
    f = io.BytesIO(text.encode("utf-8-sig"))
    f.name = name
    return f


def _visits(person, n, *, start=1):
    lines = ["visit_id,id_number,service_date,class_a,class_b,class_c"]
    for i in range(start, start + n):
        day = dt.date(2021, 5, 1) + dt.timedelta(days=i % 28)
        lines.append(f"J-{i},{person.id_number},{day},10.00,0,0")
    return "\n".join(lines) + "\n"


def test_a_large_visits_file_is_checked_and_imported_by_jobs(client, clinic, clerk, two_institutions, settings,  # noqa: F811
                                                             django_capture_on_commit_callbacks, monkeypatch):
    from claims.settlement.services import uploads

    a_student, _b = two_institutions
    settings.JOB_UPLOAD_THRESHOLD = 4
    monkeypatch.setattr(uploads, "MAX_BATCH", 2)  # progress batch by batch
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:settlement_poolupload_upload"),
                               {"kind": "visits", "institution": clinic.pk, "file": _csv(_visits(a_student, 5))})
    check = Job.objects.get()
    assert response["Location"] == reverse("admin:medins_job_progress", args=[check.pk])
    assert (check.kind, check.status, check.done, check.total) == ("pool_upload_check", JobStatus.DONE, 5, 5)
    upload = PoolUpload.objects.get()
    assert upload.preview["created"] == 5 and upload.status == UploadStatus.CHECKED
    assert not Visit.objects.filter(visit_id__startswith="J-").exists()  # checked only
    result = client.get(reverse("admin:medins_job_result", args=[check.pk])).content.decode()
    confirm = reverse("admin:settlement_poolupload_confirm", args=[upload.pk])
    assert confirm in result and reverse("admin:settlement_poolupload_change", args=[upload.pk]) in result

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm)
    imported = Job.objects.get(kind="pool_upload_import")
    assert response["Location"] == reverse("admin:medins_job_progress", args=[imported.pk])
    assert imported.status == JobStatus.DONE and (imported.done, imported.total) == (5, 5)
    assert Visit.objects.filter(visit_id__startswith="J-").count() == 5
    assert "导入" in client.get(reverse("admin:medins_job_result", args=[imported.pk])).content.decode()


def test_a_small_file_stays_on_the_page(client, clinic, clerk, two_institutions):  # noqa: F811
    a_student, _b = two_institutions
    client.force_login(clerk)
    response = client.post(reverse("admin:settlement_poolupload_upload"),
                           {"kind": "visits", "institution": clinic.pk, "file": _csv(_visits(a_student, 3))})
    upload = PoolUpload.objects.get()
    assert response["Location"] == reverse("admin:settlement_poolupload_change", args=[upload.pk])
    assert upload.preview["created"] == 3 and not Job.objects.exists()


def test_a_pending_upload_cannot_be_confirmed_and_another_operator_cannot_follow_its_job(
        client, clinic, other, clerk, operator_of, two_institutions, settings):  # noqa: F811
    """Nothing is imported before its check; DESIGN "Permissions": an operator sees only its own institution's jobs."""
    a_student, _b = two_institutions
    settings.JOB_UPLOAD_THRESHOLD = 1
    owner = operator_of(clinic, "op_a")
    client.force_login(owner)
    # not run: the job is sent on commit, which this test's transaction never does
    client.post(reverse("admin:settlement_poolupload_upload"),
                {"kind": "visits", "institution": clinic.pk, "file": _csv(_visits(a_student, 3))})
    upload, job = PoolUpload.objects.get(), Job.objects.get()
    assert upload.preview == {"pending": True} and job.status == JobStatus.QUEUED
    page = client.get(reverse("admin:settlement_poolupload_change", args=[upload.pk])).content.decode()
    assert 'id="upload-pending"' in page and 'name="confirm"' not in page
    with pytest.raises(UploadRefused):
        pool_upload_confirm(acting_user=owner, upload=upload)
    assert client.get(reverse("admin:medins_job_progress", args=[job.pk])).status_code == 200
    client.force_login(operator_of(other, "op_b"))
    assert client.get(reverse("admin:medins_job_progress", args=[job.pk])).status_code == 403
    assert client.get(reverse("admin:medins_job_status", args=[job.pk])).status_code == 403
