"""Block rules of fund security on the visit paths (issue 15 items 2 and 4, contracts/fund-security.md
grey_list and benefit_twice): a grey-listed person's direct settlement is refused with the rule's
reason in Chinese, row by row (the other rows go through), with no query per visit."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.settlement.models import CertifiedVisit, Visit
from claims.settlement.services import certified_visits_ingest, pool_members_sync_schools
from claims.supervision.models import GreyListEntry
from tests.enrollment.factories import UserFactory

from .conftest import cvisit, visit

pytestmark = pytest.mark.django_db
D = dt.date


def grey(person, start, end):
    return GreyListEntry.objects.create(person=person, from_date=start, to_date=end, reason="骗保",
                                        created_by=UserFactory(username=f"sup-{person.pk}"))


def test_pool_visit_of_a_grey_listed_student_is_refused_in_chinese_and_the_others_go_through(jinan, make_student, ingest):
    """contract grey_list (block): a direct settlement dated inside a grey-list period."""
    listed, other = make_student(), make_student()
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    grey(listed, D(2021, 5, 1), D(2021, 7, 31))
    result = ingest([visit("V-1", listed, D(2021, 6, 2)), visit("V-2", other, D(2021, 6, 2)),
                     visit("V-3", listed, D(2021, 8, 1))])  # the day after the period: paid
    assert result.created == 2
    (error,) = result.errors
    assert error["visit_id"] == "V-1" and error["code"] == "fund_security"
    assert "灰名单" in error["message"] and "暂停直接结算" in error["message"]
    assert set(Visit.objects.values_list("visit_id", flat=True)) == {"V-2", "V-3"}


def test_pool_ingestion_adds_one_query_per_batch_for_the_grey_list(jinan, make_student, ingest):
    """Hot path (issue 15 item 4): nobody listed → one grey-list query for the batch, whatever its size."""
    students = [make_student() for _ in range(6)]
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    with CaptureQueriesContext(connection) as small:
        ingest([visit(f"A-{i}", s, D(2021, 6, 2)) for i, s in enumerate(students[:2])])
    with CaptureQueriesContext(connection) as large:
        ingest([visit(f"B-{i}", s, D(2021, 6, 3)) for i, s in enumerate(students)])
    grey_queries = [q for q in large.captured_queries if "supervision_greylistentry" in q["sql"]]
    assert len(grey_queries) == 1
    assert len(large.captured_queries) <= len(small.captured_queries)  # the first batch also opens the accounts


def test_certified_visit_of_a_grey_listed_person_is_refused(cc, make_resident, certify):
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary"])
    grey(person, D(2021, 8, 1), D(2021, 8, 31))
    result = certified_visits_ingest(acting_user=None, institution=cc["primary"], rows=[
        cvisit("C-1", person, D(2021, 8, 2), "chronic", "diabetes"),
        cvisit("C-2", person, D(2021, 9, 1), "chronic", "diabetes")])
    assert result.created == 1 and CertifiedVisit.objects.get().visit_id == "C-2"
    (error,) = result.errors
    assert error["visit_id"] == "C-1" and error["code"] == "fund_security" and "灰名单" in error["message"]
