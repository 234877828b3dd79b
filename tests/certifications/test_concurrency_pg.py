"""Two approvals at once on two PostgreSQL connections (DOMAIN.md §5: never two in force for the
same person, kind and disease/drug): the person's row lock makes them take turns, the partial
unique constraint backs it up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from claims.certifications import services as cs
from claims.certifications.errors import AlreadyInForce
from claims.certifications.models import Certification, CertificationKind
from claims.certifications.workflow import CertificationState
from tests.certifications.conftest import all_documents, institution, item, role_user
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
              pytest.mark.django_db(transaction=True)]
K, S = CertificationKind, CertificationState


def _reviewed(cert, applicant, reviewer):
    all_documents(cert, applicant)
    cs.certification_start_review(acting_user=reviewer, certification=cert)
    return cert


def test_two_chronic_approvals_at_once_leave_exactly_one_in_force(chronic_cc, reviewer, approver):
    first = _reviewed(chronic_cc(), chronic_cc.operator, reviewer)
    second = _reviewed(chronic_cc(), chronic_cc.operator, reviewer)
    other = role_user("c_approver_b", "approver")
    day = dt.date(2021, 4, 1)
    outcomes = run_at_once(lambda: cs.certification_approve(acting_user=approver, certification=first, on=day),
                           lambda: cs.certification_approve(acting_user=other, certification=second, on=day))
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyInForce", "Certification"]
    assert all(isinstance(o, (Certification, AlreadyInForce)) for o in outcomes)
    assert Certification.objects.filter(kind=K.CHRONIC, state=S.APPROVED).count() == 1


def test_two_special_disease_approvals_at_once_one_supersedes_the_other(cc_person, intake, reviewer, approver):
    """Two hospitals approve the same special disease at once: both succeed in turn, the later
    one supersedes the earlier (ending it the day before); one in force."""
    a = _reviewed(cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                         item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-019")),
                  intake, reviewer)
    b = _reviewed(cs.certification_apply(acting_user=intake, person=cc_person, kind=K.SPECIAL_DISEASE,
                                         item=item("220100", "SPD-027"), applicant_institution=institution("CC-H-020")),
                  intake, reviewer)
    other = role_user("c_approver_b", "approver")
    day = dt.date(2021, 4, 1)
    outcomes = run_at_once(lambda: cs.certification_approve(acting_user=approver, certification=a, on=day),
                           lambda: cs.certification_approve(acting_user=other, certification=b, on=day))
    assert all(isinstance(o, Certification) for o in outcomes), outcomes
    states = dict(Certification.objects.filter(pk__in=[a.pk, b.pk]).values_list("state", "pk").order_by("state"))
    assert set(states) == {S.APPROVED, S.SUPERSEDED}
    loser = Certification.objects.get(state=S.SUPERSEDED)
    assert loser.valid_to == day - dt.timedelta(days=1) and loser.superseded_by_id == states[S.APPROVED]
