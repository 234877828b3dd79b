"""Issue #14 item 3: the tax-file import runs as a Celery task (eager here) with a progress page and
a result page; a file above JOB_UPLOAD_THRESHOLD rows is checked by a job too, a smaller one on the page."""

from pathlib import Path

import pytest

from enrollment.demo import demo_persons_ensure
from enrollment.models import ImportStatus, Payment, PaymentImport
from medins.jobs import Job, JobStatus
from medins.uploads import estimated_rows, in_background

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parents[2] / "enrollment" / "samples" / "tax_payments_sample.csv"


def test_rows_are_estimated_without_parsing_and_the_threshold_decides(settings):
    """The threshold is a setting (JOB_UPLOAD_THRESHOLD); a CSV counts its lines (header excluded)."""
    content = SAMPLE.read_bytes()
    assert estimated_rows("t.csv", content) == 11
    settings.JOB_UPLOAD_THRESHOLD = 11
    assert not in_background("t.csv", content)
    settings.JOB_UPLOAD_THRESHOLD = 10
    assert in_background("t.csv", content)


def test_a_large_tax_file_is_checked_then_imported_by_background_jobs(reference_data, clerk_client, settings,
                                                                      django_capture_on_commit_callbacks):
    demo_persons_ensure()
    settings.JOB_UPLOAD_THRESHOLD = 5  # the 11-row sample counts as large
    with SAMPLE.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post("/admin/enrollment/payment/import/", {"file": fh})
    assert response.status_code == 302 and response["Location"].endswith("/progress/")
    check = Job.objects.get()
    assert (check.kind, check.status, check.done, check.total) == ("tax_file_check", JobStatus.DONE, 11, 11)
    assert Payment.objects.count() == 0  # the check writes nothing but the import's report
    payment_import = PaymentImport.objects.get()
    assert (payment_import.status, payment_import.total_rows, payment_import.error_rows) == (ImportStatus.PREVIEWED, 11, 1)

    result = clerk_client.get(f"/admin/medins/job/{check.pk}/result/").content.decode()
    assert "校验码" in result and "导入 10 笔缴费" in result
    confirm_url = f"/admin/enrollment/payment/import/{payment_import.pk}/confirm/"
    assert confirm_url in result

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(confirm_url)
    imported = Job.objects.get(kind="tax_file_import")
    assert response["Location"] == f"/admin/medins/job/{imported.pk}/progress/"
    assert imported.status == JobStatus.DONE and (imported.done, imported.total) == (11, 11)
    assert Payment.objects.count() == 10
    page = clerk_client.get(f"/admin/medins/job/{imported.pk}/result/").content.decode()
    assert "已导入 10 笔缴费" in page

    # confirming again starts nothing and imports nothing twice (idempotent by receipt anyway)
    response = clerk_client.post(confirm_url)
    assert response.status_code == 302 and Job.objects.filter(kind="tax_file_import").count() == 1
    assert Payment.objects.count() == 10


def test_a_failed_import_job_shows_its_error_and_reruns_without_importing_twice(
        reference_data, clerk_client, django_capture_on_commit_callbacks, monkeypatch):
    """DESIGN "Jobs … can be resumed": chunks are committed one by one; the job fails after the first
    chunk, the result page offers the re-run, which imports the rest and nothing twice."""
    from enrollment.services import tax_files

    demo_persons_ensure()
    with SAMPLE.open("rb") as fh:
        clerk_client.post("/admin/enrollment/payment/import/", {"file": fh})
    payment_import = PaymentImport.objects.get()
    monkeypatch.setattr(tax_files, "CHUNK", 4)
    real, calls = tax_files._chunk, []

    def fail_on_the_second_chunk(rows, **kwargs):
        calls.append(1)
        if len(calls) == 2 and kwargs["write"]:
            raise RuntimeError("database went away mid-file")
        return real(rows, **kwargs)

    monkeypatch.setattr(tax_files, "_chunk", fail_on_the_second_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(f"/admin/enrollment/payment/import/{payment_import.pk}/confirm/")
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED and "went away" in job.error
    first_chunk = Payment.objects.count()
    assert 0 < first_chunk < 10

    monkeypatch.setattr(tax_files, "_chunk", real)
    with django_capture_on_commit_callbacks(execute=True):
        clerk_client.post(f"/admin/medins/job/{job.pk}/rerun/")
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and Payment.objects.count() == 10
    assert job.result["counts"][2][1] == first_chunk  # "already imported": the first attempt's rows


def test_a_file_is_not_imported_while_its_check_job_is_still_running(reference_data, clerk_client, settings):
    """Nothing is imported before its preview: the check job is queued (its message is sent on
    commit, which this test's transaction never does), so confirming is refused."""
    demo_persons_ensure()
    settings.JOB_UPLOAD_THRESHOLD = 5
    with SAMPLE.open("rb") as fh:
        clerk_client.post("/admin/enrollment/payment/import/", {"file": fh})
    assert Job.objects.get().status == JobStatus.QUEUED
    payment_import = PaymentImport.objects.get()
    response = clerk_client.post(f"/admin/enrollment/payment/import/{payment_import.pk}/confirm/")
    assert response["Location"] == f"/admin/enrollment/paymentimport/{payment_import.pk}/change/"
    assert Job.objects.count() == 1 and Payment.objects.count() == 0
