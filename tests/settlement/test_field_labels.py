"""Refusals name their field as the reader knows it (issue 14 item 4): a Chinese reader sees
"就诊记录: …", never "visits: …"; the field's label depends on the file it came from ("name" is a
student's 姓名 in a school batch, an institution's 机构名称 in an institution file); API error
bodies keep their machine-readable `field` key (contracts: {"code", "message", "field"})."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils.translation import gettext, override

from claims.settlement.errors import ConcurrentChange
from medins.parsing import Column, ParseError, column_set, field_label
from tests.settlement.conftest import visit

pytestmark = pytest.mark.django_db


def test_a_concurrent_change_names_its_field_in_chinese_and_keeps_the_key():
    exc = ConcurrentChange("visits", "some of these visits were recorded concurrently; send the batch again")
    from enrollment.messages import localized

    with override("zh-hans"):
        assert exc.localized() == localized(exc)  # the admin's message path
        assert exc.localized().startswith("就诊记录: ")
    with override("en"):
        assert exc.localized().startswith("visits: ")
    assert str(exc).startswith("visits: ") and exc.as_dict()["field"] == "visits"  # logs and the contract


def test_the_visits_api_answers_a_refused_batch_in_chinese_with_the_field_key(jinan, clinic, client, make_user):
    client.force_login(make_user("his", "settlement.add_visit"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    body = client.post(url, json.dumps({"visits": "x"}), content_type="application/json").json()
    assert body == {"error": {"code": "invalid_request", "field": "visits", "message": "就诊记录: 须为列表（或上传文件）"}}
    client.cookies["django_language"] = "en"
    body = client.post(url, json.dumps({"visits": "x"}), content_type="application/json").json()
    assert body["error"]["message"] == "visits: must be a list (or upload a file)"


def test_a_concurrent_change_reaches_the_api_as_a_409_in_chinese(jinan, clinic, client, make_user, monkeypatch):
    import claims.settlement.api as api

    def refuse(**kwargs):
        raise ConcurrentChange("visits", gettext("some of these visits were recorded concurrently; send the batch again"))

    monkeypatch.setattr(api, "visits_receive", refuse)
    client.force_login(make_user("his", "settlement.add_visit"))
    response = client.post(reverse("v1:settlement-visits", args=["370100", "JN-S-001"]), json.dumps({"visits": []}),
                           content_type="application/json")
    error = response.json()["error"]
    assert response.status_code == 409 and (error["code"], error["field"]) == ("concurrent_change", "visits")
    assert error["message"].startswith("就诊记录: ") and "visits" not in error["message"]


def test_row_errors_name_the_column_by_its_header_and_say_it_once(jinan, clinic, make_student, client, make_user):
    student = make_student()
    client.force_login(make_user("his", "settlement.add_visit"))
    url = reverse("v1:settlement-visits", args=["370100", "JN-S-001"])
    rows = [{**visit("B1", student, dt.date(2021, 3, 1)), "visit_id": "a b"},
            {**visit("B2", student, dt.date(2021, 3, 1)), "id_number": "123"}]
    errors = client.post(url, json.dumps({"visits": rows}), content_type="application/json").json()["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("visit_id", "就诊流水号: 须为1至40位字母、数字或 _.:/-"), ("id_number", "身份证号: 须为18位身份证号码")]


def test_a_stay_refusal_names_its_field_once(cc):
    from claims.settlement.services import stays_receive

    with override("zh-hans"):
        result = stays_receive(acting_user=None, institution=cc["tertiary"], stays=[
            {"stay_id": "S1", "id_number": "220102199001011234", "admitted": "2021-06-01", "discharged": "2021-06-03",
             "diagnosis": "appendicitis", "lines": []}])
    assert [(e["field"], e["message"]) for e in result.errors] == [("diagnosis", "出院诊断编码: 须为 ICD-10 编码，如 I63.9")]


# --------------------------------------------------------------------------- one field name, two meanings


def test_name_is_a_students_name_in_a_school_batch_and_an_institutions_in_an_institution_file():
    from claims.services.batches import FILE_COLUMNS, _row_text
    from medins.services.institution_import import COLUMNS as INSTITUTION_COLUMNS

    with override("zh-hans"):
        assert field_label("name", FILE_COLUMNS) == "姓名"
        assert field_label("name", INSTITUTION_COLUMNS) == "机构名称"
        assert field_label("name") == "name"  # no context: not named by the wrong one of the two
        with pytest.raises(Exception) as caught:
            _row_text({"name": "张" * 60}, "name", 50)
        assert str(caught.value).startswith("姓名: ")  # was 机构名称: the first importer loaded won
        assert ParseError("name", "is required").localized(FILE_COLUMNS) == "姓名: 必填"


def test_a_field_two_importers_head_differently_is_not_named_by_whichever_loaded_first():
    column_set(Column("zz_test_amount", "报销金额"))
    with override("zh-hans"):
        assert field_label("zz_test_amount") == "报销金额"
        column_set(Column("zz_test_amount", "缴费金额"))
        assert field_label("zz_test_amount") == "zz_test_amount"
        assert field_label("id_number") == "身份证号码"  # the shared name where importers agree on the meaning
        assert field_label("invoices[0].kind") == "发票[0].kind"
        # a hospital's certification refusal (claims.certifications.api.error_body) and a care home's
        assert ParseError("item", "is required").localized() == "病种或药品: 必填"
        assert field_label("care_home") == "照护机构"
