"""Fuzzing the API against its OpenAPI schema, for each API role (issue 11 item 7).

Schemathesis generates requests for every operation of the schema drf-spectacular builds (the
one served at /api/schema/) and sends them to the WSGI application in-process, as a school
operator, an institution operator and a staff clerk. A 5xx or a response that does not match the
schema (status code, content type, body) fails the test. Kept small for CI: a few examples per
operation, derandomized (the same requests on every run), no shrinking beyond what is needed.
Found and fixed: PersonList.school / PersonDetail.school were null against a non-nullable schema.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import schemathesis
from django.contrib.auth.models import Group
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks as st_checks

from medins.wsgi import application

MAX_EXAMPLES = 8


def _schema() -> schemathesis.schemas.BaseSchema:
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application  # requests go to the WSGI app in-process
    return loaded


schema = _schema()


@pytest.fixture
def in_test_transaction():
    """Requests go through the WSGI handler, whose request signals would close the test's connection
    (Django's test client disconnects them the same way)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def role_tokens(reference_data, in_test_transaction):
    """One user per API role with reference data, a school, a pool institution and a person to find."""
    from claims.models import SchoolOperator
    from claims.settlement.models import InstitutionOperator
    from medins.models import Institution, Region
    from tests.claims.factories import PersonFactory, SchoolFactory, cover
    from tests.enrollment.factories import UserFactory

    jinan = Region.objects.get(code="370100")
    school = SchoolFactory(region=jinan, kind="college", name="模糊测试大学")
    cover(PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school))
    cover(PersonFactory(area="370102", birth=dt.date(1970, 1, 1)))  # no school: PersonList.school is null

    school_op = UserFactory(username="fuzz_school", is_staff=False)
    SchoolOperator.objects.create(user=school_op, school=school)
    institution_op = UserFactory(username="fuzz_institution")
    institution_op.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=institution_op, institution=Institution.objects.filter(
        region=jinan, designations__code="outpatient_pool").order_by("pk").first())
    clerk = UserFactory(username="fuzz_clerk")
    clerk.groups.add(Group.objects.get(name="intake_clerk"))
    return {name: Token.objects.create(user=user).key
            for name, user in (("school_operator", school_op), ("institution_operator", institution_op),
                               ("staff_clerk", clerk))}


CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_schema_conformance]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["school_operator", "institution_operator", "staff_clerk"])
def test_api_never_answers_5xx_nor_outside_its_schema(role, role_tokens):
    """Issue 11 item 7 / finding 6: no generated request gets a 5xx or a response outside the schema.

    One test per role (the reference data is loaded once per role, not once per operation); each
    operation gets MAX_EXAMPLES derandomized examples."""
    headers = {"Authorization": f"Token {role_tokens[role]}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then fail once with all of them
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
