"""The back-office is in Simplified Chinese by default, English selectable (issue #2, item 1)."""

import pytest


@pytest.mark.django_db
def test_admin_is_chinese_even_for_an_english_browser(admin_client):
    response = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "定点医药机构" in response.content.decode()


@pytest.mark.django_db
def test_a_clerk_can_switch_to_english_and_back(admin_client):
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Designated institutions" in admin_client.get("/admin/").content.decode()
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    assert "定点医药机构" in admin_client.get("/admin/").content.decode()
