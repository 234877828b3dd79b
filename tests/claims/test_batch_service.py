"""The set-based school batch (issue #4): bounded queries, and every guard of case_receive kept for each row."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Batch, Case, CaseTransition, Invoice, SchoolOperator
from claims.services import batch_submit
from claims.workflow import CaseState
from tests.claims.factories import PersonFactory, SchoolFactory, cover
from tests.claims.test_school import row
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def school_with_students(reference_data):
    from medins.models import Region

    school = SchoolFactory(region=Region.objects.get(code="370100"), kind="college", name="批量大学")
    operator = UserFactory(username="op-batch", is_staff=False)
    SchoolOperator.objects.create(user=operator, school=school)

    def students(n, *, covered=True):
        out = []
        for _ in range(n):
            student = PersonFactory(area="370102", birth=dt.date(2001, 5, 5), school=school)
            if covered:
                cover(student)
            out.append(student)
        return out

    return school, operator, students


def _rows(students, prefix):
    return [{**row(s, f"{prefix}-{i}"), "row_id": str(i)} for i, s in enumerate(students)]


def _submit(school, operator, batch_id, rows):
    return batch_submit(acting_user=operator, school=school, client_batch_id=batch_id, rows=rows, source="api")[0]


def test_a_batch_of_50_rows_takes_no_more_queries_than_a_batch_of_5(school_with_students, django_assert_max_num_queries):
    """Issue #4: the batch is set-based per chunk — the query count does not grow with the rows."""
    school, operator, students = school_with_students
    five, fifty = students(5), students(50)
    with CaptureQueriesContext(connection) as small:
        _submit(school, operator, "q-5", _rows(five, "S"))
    with django_assert_max_num_queries(len(small.captured_queries) + 2):
        batch = _submit(school, operator, "q-50", _rows(fifty, "L"))
    assert batch.accepted_rows == 50


def test_every_row_of_a_batch_gets_its_checklist_transition_and_history(school_with_students):
    """DESIGN audit + §6 flow: bulk inserts still record the received transition, the checklist and the history row."""
    school, operator, students = school_with_students
    batch = _submit(school, operator, "h-1", _rows(students(3), "H"))
    for case in Case.objects.filter(batch=batch):
        assert case.state == CaseState.RECEIVED
        assert list(case.transitions.values_list("from_state", "to_state", "actor")) == [("", "received", operator.pk)]
        assert case.materials.filter(received=True).count() == 2  # invoice + emergency_outpatient_record of row()
        assert case.history.get().history_user == operator
        assert case.invoices.get().history.get().history_user == operator


def test_student_not_covered_in_a_batch_is_received_then_rejected_and_releases_the_invoice(school_with_students):
    """§9: a claim for a person not covered on the service date is rejected, saying so — row by row in a batch too."""
    school, operator, students = school_with_students
    (uncovered,) = students(1, covered=False)
    (covered,) = students(1)
    batch = _submit(school, operator, "nc-1", [row(uncovered, "NC-1"), row(covered, "NC-1")])
    first, second = batch.report
    assert (first["status"], first["state"]) == ("accepted", "rejected") and "未参保" in first["reason"]
    rejected = Case.objects.get(pk=first["case_id"])
    assert list(rejected.transitions.values_list("to_state", flat=True)) == ["received", "rejected"]
    assert rejected.history.count() == 2
    # the rejected case does not hold its invoice: the next row may claim it
    assert (second["status"], second["state"]) == ("accepted", "received")
    assert Invoice.objects.filter(number="NC-1", claimed=True).get().case_id == second["case_id"]


def test_invoice_claimed_by_an_earlier_batch_is_refused_naming_that_case(school_with_students):
    """§6/§9: the same invoice is never reimbursed twice — across batches."""
    school, operator, students = school_with_students
    (s1, s2) = students(2)
    first = _submit(school, operator, "d-1", [row(s1, "DUP-1")])
    second = _submit(school, operator, "d-2", [row(s2, "OK-2"), row(s2, " dup-1 ")])
    assert [r["status"] for r in second.report] == ["accepted", "rejected"]
    assert second.report[1]["earlier_case"] == first.report[0]["case"]
    assert first.report[0]["case"] in second.report[1]["errors"][0]


def test_a_bad_row_never_loses_the_good_rows_of_its_chunk(school_with_students, monkeypatch):
    """Per-row report across chunks: bad rows anywhere, every good row kept."""
    from claims.services import batches

    monkeypatch.setattr(batches, "CHUNK_SIZE", 3)
    school, operator, students = school_with_students
    good = students(5)
    rows = _rows(good, "C")
    rows.insert(2, {**row(good[0], "C-X"), "service_from": "not a date"})
    rows.insert(4, {**row(good[1], "C-Y"), "invoices": "nonsense"})
    batch = _submit(school, operator, "c-1", rows)
    assert [r["status"] for r in batch.report] == ["accepted", "accepted", "rejected", "accepted", "rejected", "accepted",
                                                   "accepted"]
    assert [r["row"] for r in batch.report] == [1, 2, 3, 4, 5, 6, 7]
    assert Case.objects.filter(batch=batch).count() == 5


def test_an_invoice_claimed_concurrently_falls_back_to_row_by_row(school_with_students, monkeypatch):
    """A race with another request (the unique constraint fires) still refuses only the row concerned."""
    from claims.services import batches

    school, operator, students = school_with_students
    (s1, s2) = students(2)
    _submit(school, operator, "r-0", [row(s1, "RACE-1")])
    # given the check saw no claimed invoice (as if the other request committed just after it)
    monkeypatch.setattr(batches, "claimed_invoices", lambda keys: {})
    batch = _submit(school, operator, "r-1", [row(s2, "FREE-1"), row(s2, "RACE-1")])
    assert [r["status"] for r in batch.report] == ["accepted", "rejected"]
    assert batch.report[1]["field"] == "invoices"


def test_idempotent_batch_id_survives_the_set_based_path(school_with_students):
    """DESIGN idempotency: the same client batch id returns the first batch, nothing new."""
    school, operator, students = school_with_students
    rows = _rows(students(3), "I")
    first = _submit(school, operator, "same", rows)
    again, created = batch_submit(acting_user=operator, school=school, client_batch_id="same", rows=rows, source="api")
    assert (again.pk, created) == (first.pk, False)
    assert Case.objects.count() == 3 and Batch.objects.count() == 1
    assert CaseTransition.objects.count() == 3


def test_the_batch_endpoint_accepts_a_body_above_the_global_upload_limit(school_with_students, settings):
    """5 000 cases are ~3 MB of JSON: the batch endpoint has its own body limit, other endpoints keep Django's."""
    from rest_framework.test import APIClient

    school, operator, students = school_with_students
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    (student,) = students(1)
    body = {"batch_id": "big", "cases": [{**row(student, "BIG-1"), "note_padding": "x" * 20_000}]}
    api = APIClient()
    api.force_authenticate(operator)
    response = api.post("/api/v1/school/batches/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content[:500]
    assert response.json()["accepted_rows"] == 1
