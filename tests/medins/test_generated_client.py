"""Issue #14 item 10: a school's client generated from /api/schema/ by a standard generator
(openapi-python-client, pinned in requirements-dev.txt) imports and calls the quote, enrollment
preview, school batch and visits endpoints of a live test server, with real answers.

The schema is the one /api/schema/ serves (drf-spectacular's generator); the client is generated
into a temporary folder (no network: the generator's templates ship with it; its ruff post-hooks
are switched off) and imported from there. Generation takes a few seconds.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

PACKAGE = "medins_api_client"
QUOTE = {
    "region": "220100", "benefit": "inpatient", "service_date": "2021-05-10", "person": {"category": "adult"},
    "institution": {"level": "municipal_tertiary"},
    "bill": {"class_a": "20000.00", "class_b": "10000.00", "class_c": "1500.00"},
}
PREVIEW = {"region": "220100", "person": {"id_number": "220102199001011239", "category": "adult"},
           "payment_date": "2021-03-15", "newborn_registration": False}


@pytest.fixture(scope="module")
def api_client_package(tmp_path_factory):
    """Generate the client from the served schema and import it (removed from sys.modules after)."""
    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "schema.json"
    schema.write_bytes(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    config = folder / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "project_name_override": PACKAGE, "post_hooks": []}))
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--meta", "none", "--config", str(config),
         "--output-path", str(folder / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # e.g. an operation it had to skip
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _op(module: str):
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def _model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_every_generated_operation_imports(api_client_package):
    """The generated code of every operation imports (several body types per operation made it
    import a name it never defined)."""
    api = importlib.import_module(f"{PACKAGE}.api")
    names = [m.name for m in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api.") if not m.ispkg]

    for name in names:
        importlib.import_module(name)

    assert f"{PACKAGE}.api.quotes.quote_create" in names and len(names) >= 15


@pytest.fixture
def tokens(transactional_db):
    """API tokens: an agency clerk (superuser), a school's operator with a covered student, and
    Jinan's school clinic (山东大学校医院) with that student signed up for 2021."""
    from rest_framework.authtoken.models import Token

    from claims.models import SchoolOperator
    from claims.settlement.models import SchoolClinic
    from claims.settlement.services import pool_members_sync_schools
    from medins.models import Institution, Region
    from tests.claims.factories import PersonFactory, SchoolFactory, cover
    from tests.enrollment.factories import UserFactory

    jinan = Region.objects.get(code="370100")
    school = SchoolFactory(region=jinan, kind="college", name="山东大学", code="SDU")
    SchoolClinic.objects.create(school=school, institution=Institution.objects.get(region=jinan, code="JN-S-001"))
    student = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school, name="学生甲")
    cover(student)
    pool_members_sync_schools(acting_user=None, region_id=jinan.pk, year=2021)
    clerk = UserFactory(username="client_clerk", is_superuser=True)
    operator = UserFactory(username="client_school", is_staff=False)
    SchoolOperator.objects.create(user=operator, school=school)
    return {"clerk": Token.objects.create(user=clerk).key, "school": Token.objects.create(user=operator).key,
            "student": student}


def _client(package, live_server, token: str):
    return package.AuthenticatedClient(base_url=live_server.url, token=token, prefix="Token", raise_on_unexpected_status=True)


def test_generated_client_calls_quote_preview_batches_and_visits(api_client_package, live_server, tokens):
    """Issue #14 item 10 against a live server: each call is answered 200/201 with the real
    figures (DOMAIN §3 inpatient quote, §1 enrollment preview, a school batch row accepted, a
    visit received by JSON and one by file)."""
    clerk = _client(api_client_package, live_server, tokens["clerk"])
    school = _client(api_client_package, live_server, tokens["school"])
    student = tokens["student"]

    quote = _op("quotes.quote_create").sync_detailed(client=clerk, body=_model("QuoteRequest").from_dict(QUOTE))
    assert quote.status_code == 200
    assert (quote.parsed.fund, quote.parsed.catastrophic, quote.parsed.personal) == ("16920.00", "1848.00", "12732.00")

    preview = _op("enrollment.enrollment_preview").sync_detailed(
        client=clerk, body=_model("EnrollmentPreviewRequest").from_dict(PREVIEW))
    assert preview.status_code == 200
    assert (preview.parsed.policy_version, preview.parsed.amount_due) == ("220100-2021", "320.00")
    assert preview.parsed.periods[0].covered_from == dt.date(2021, 6, 15)

    case = {"row_id": "1", "id_number": student.id_number, "name": student.name, "case_type": "accident",
            "service_from": "2021-04-02", "institution_name": "校外医院", "institution_level": "secondary",
            "invoices": [{"issuer": "校外医院", "number": "GEN-1", "issued_on": "2021-04-02", "class_a": "800.00",
                          "class_b": "0", "class_c": "0"}],
            "materials": ["invoice", "emergency_outpatient_record"]}
    batch = _op("claims.v1_school_batches_create").sync_detailed(
        client=school, body=_model("V1SchoolBatchesCreateBody").from_dict({"batch_id": "GEN-B1", "cases": [case]}))
    assert batch.status_code == 201
    assert json.loads(batch.content)["report"][0]["status"] == "accepted"
    listed = _op("claims.v1_school_batches_list").sync_detailed(client=school)
    assert listed.status_code == 200 and listed.parsed.count == 1

    visit = {"visit_id": "GEN-V1", "id_number": student.id_number, "service_date": "2021-03-01",
             "class_a": "100.00", "class_b": "0.00", "class_c": "0.00"}
    sent = _op("settlement.settlement_visits_create").sync_detailed(
        "370100", "JN-S-001", client=clerk, body=_model("VisitBatch").from_dict({"visits": [visit]}))
    assert sent.status_code == 200 and (sent.parsed.created, sent.parsed.duplicates) == (1, 0)

    csv_text = f"visit_id,id_number,service_date,class_a,class_b,class_c\nGEN-V2,{student.id_number},2021-03-02,50.00,0,0\n"
    upload = api_client_package.types.File(payload=BytesIO(csv_text.encode()), file_name="visits.csv", mime_type="text/csv")
    filed = _op("settlement.settlement_visits_file_create").sync_detailed(
        "370100", "JN-S-001", client=clerk, body=_model("VisitFile")(file=upload))
    assert filed.status_code == 200 and filed.parsed.created == 1, filed.content

    visits = _op("settlement.settlement_visits_list").sync_detailed("370100", "JN-S-001", client=clerk)
    assert visits.status_code == 200 and {v.visit_id for v in visits.parsed.results} == {"GEN-V1", "GEN-V2"}
