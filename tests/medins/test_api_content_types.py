"""Issue #14 item 10: JSON endpoints accept and advertise JSON only, upload endpoints multipart
only, so that a client generated from /api/schema/ (openapi-python-client) works."""

import io
import json

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture
def jinan_clinic_operator(reference_data, superuser_client):
    """An agency superuser (may act for every pool institution) and Jinan's school clinic."""
    return superuser_client, "370100", "JN-S-001"


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_advertises_exactly_one_body_type(db):
    """Every request body of the schema has one content type: JSON, or multipart for the file
    endpoints (several types make openapi-python-client generate code that does not import)."""
    kinds = {}
    for path, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                kinds[(path, method)] = list(operation["requestBody"]["content"])

    assert kinds and all(len(types) == 1 for types in kinds.values()), kinds
    multipart = {path for (path, _m), types in kinds.items() if types == ["multipart/form-data"]}
    assert multipart == {"/api/v1/settlement/institutions/{region}/{code}/visits/file/",
                         "/api/v1/settlement/institutions/{region}/{code}/signups/file/",
                         "/api/v1/settlement/institutions/{region}/{code}/stays/file/",  # direct inpatient stays
                         "/api/v1/certifications/{id}/attachments/",  # scanned documents (issue #12)
                         "/api/v1/school/certifications/{id}/attachments/"}
    assert {types[0] for types in kinds.values()} == {"application/json", "multipart/form-data"}


def test_uploaded_files_are_binary_in_the_schema(db):
    """A generator sends the bytes of a `format: binary` field (a `uri` string it would str())."""
    components = _schema()["components"]["schemas"]

    assert components["VisitFile"]["properties"]["file"] == {"type": "string", "format": "binary"}
    assert components["SignupFile"]["properties"]["file"] == {"type": "string", "format": "binary"}


def test_a_json_endpoint_refuses_a_form_body_with_415(reference_data, superuser_client):
    response = superuser_client.post("/api/v1/quotes/", {"region": "220100"})  # multipart, as a form would send

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_the_file_endpoint_refuses_json_and_the_json_endpoint_refuses_a_file(jinan_clinic_operator):
    client, region, code = jinan_clinic_operator
    upload = io.BytesIO(b"visit_id,id_number,service_date,class_a,class_b,class_c\n")
    upload.name = "visits.csv"

    as_json = client.post(reverse("v1:settlement-visits-file", args=[region, code]), json.dumps({"visits": []}),
                          content_type="application/json")
    as_file = client.post(reverse("v1:settlement-visits", args=[region, code]), {"file": upload})

    assert (as_json.status_code, as_file.status_code) == (415, 415)


def test_the_file_endpoint_without_a_file_names_the_field(jinan_clinic_operator):
    client, region, code = jinan_clinic_operator

    response = client.post(reverse("v1:settlement-visits-file", args=[region, code]), {"note": "x"})

    assert response.status_code == 400 and response.json()["error"]["field"] == "file"
