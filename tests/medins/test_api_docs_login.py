"""The OpenAPI schema and its docs are for users who log in, any role (issue 11, finding 14:
`/api/schema/` and `/api/docs/` were readable anonymously)."""

import pytest
from django.contrib.auth import get_user_model


def test_anonymous_gets_no_schema(client, db):
    response = client.get("/api/schema/")
    assert response.status_code in (401, 403)
    assert b"openapi" not in response.content


def test_anonymous_is_sent_to_log_in_for_the_docs(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/api/docs/")


@pytest.mark.parametrize("staff", [True, False], ids=["clerk", "school_operator"])
def test_any_logged_in_user_reads_the_schema_and_the_docs(client, db, staff):
    user = get_user_model().objects.create_user("someone", password="x-password-1", is_staff=staff)
    client.force_login(user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_a_token_reads_the_schema(client, db):
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("machine", password="x-password-1")
    token = Token.objects.create(user=user)
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
