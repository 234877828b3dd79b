"""Issue 14 item 4: no English or raw codes in front of a Chinese user — uploads take Chinese (and
English) column headers and answer in Chinese, calculation steps, statements, parameters and run
histories read as tables and labels, the change history shows no "CHANGES" or "None"."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.utils.translation import override

from medins.parsing import Column, FileError, column_set, match_columns, read_records, rename_records
from medins.value_display import STEP_LABELS, breakdown_table, render_value, value_summary

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- uploads


COLUMNS = column_set(Column("id_number", "身份证号", ("身份证号码",)), Column("amount", "金额"), Column("note", "备注"))


def test_a_column_is_found_by_its_english_name_its_chinese_header_or_an_alias():
    assert match_columns(["身份证号", "金额"], COLUMNS, ("id_number", "amount")) == {"id_number": 0, "amount": 1}
    assert match_columns(["AMOUNT ", "id_number"], COLUMNS, ("id_number", "amount")) == {"id_number": 1, "amount": 0}
    assert match_columns(["身份证号码", "金额"], COLUMNS, ("id_number",)) == {"id_number": 0, "amount": 1}


def test_a_missing_column_is_named_in_chinese_for_a_chinese_reader():
    with pytest.raises(FileError) as caught:
        match_columns(["身份证号"], COLUMNS, ("id_number", "amount"))
    with override("zh-hans"):
        assert caught.value.localized() == "缺少列：金额 (amount)"
    assert str(caught.value.message) == "missing column(s): 金额 (amount)"  # API and command output stay English


def test_records_are_keyed_by_field_whichever_headers_the_file_uses():
    _h, chinese = read_records("a.csv", "身份证号,金额,别的列\n110,1.00,x\n".encode(), line_key="_line")
    _h, english = read_records("a.csv", b"id_number,amount\n110,1.00\n", line_key="_line")
    assert rename_records(chinese, COLUMNS, ("id_number",)) == [{"id_number": "110", "amount": "1.00", "_line": 2}]
    assert rename_records(english, COLUMNS, ("id_number",)) == [{"id_number": "110", "amount": "1.00", "_line": 2}]


def test_a_damaged_workbook_and_a_foreign_encoding_are_reported_in_chinese():
    """Not "File is not a zip file" nor a raw codec error."""
    for name, content in (("a.xlsx", b"PK\x03\x04 not really a zip"), ("a.csv", b"\xff\xfe\x00\xd8\x00\xdc" * 3)):
        try:
            _h, rows = read_records(name, content)
        except FileError as exc:
            with override("zh-hans"):
                text = exc.localized()
            assert not re.search(r"[A-Za-z]{3,}", text.replace("XLSX", "").replace("CSV", "").replace("UTF", "")
                                 .replace("GB", "")), text


def test_settlement_files_with_chinese_headers_are_read_like_english_ones():
    from claims.settlement.imports import read_rows

    chinese = "就诊流水号,身份证号,就诊日期,甲类费用\nV1,370102200202026013,2021-12-01,35.50\n".encode()
    english = b"visit_id,id_number,service_date,class_a\nV1,370102200202026013,2021-12-01,35.50\n"
    assert read_rows("v.csv", chinese, kind="visits") == read_rows("v.csv", english, kind="visits") == [
        {"visit_id": "V1", "id_number": "370102200202026013", "service_date": "2021-12-01", "class_a": "35.50"}]
    with pytest.raises(FileError) as caught:
        read_rows("s.csv", "签约日期\n2021-01-01\n".encode(), kind="signups")
    with override("zh-hans"):
        assert "身份证号" in caught.value.localized()


def test_school_batch_files_accept_chinese_headers():
    from claims.services.batches import rows_from_file

    rows = rows_from_file("b.csv", "身份证号,报销类型,就诊开始日期,开票单位,发票号码,开票日期\n1,accident,2021-04-02,x,y,2021-04-02\n"
                          .encode())
    assert rows[0]["id_number"] == "1" and rows[0]["case_type"] == "accident" and rows[0]["_line"] == 2


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("**/samples/*.csv")
                                        if ".venv" not in p.parts))
def test_the_sample_files_use_chinese_headers(path):
    header = next(csv.reader(io.StringIO((ROOT / path).read_text(encoding="utf-8-sig"))))
    assert all(not h.isascii() for h in header), header


# --------------------------------------------------------------------------- calculation steps


def _engine_steps() -> set[str]:
    """Every step code the engine writes (medins.benefits: Line(...), Cap(...), first_step=, ltc_ rules)."""
    steps = set()
    for path in (ROOT / "medins" / "benefits").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        steps |= set(re.findall(r'\bLine\(\s*"([a-z_]+)"', text))
        steps |= set(re.findall(r'\bCap\(\s*"([a-z_]+)"', text))
        steps |= set(re.findall(r'first_step="([a-z_]+)"', text))
    from medins.benefits.long_term_care import AGED, AGED_BED_FEE, MODERATE, SEVERE

    steps |= {f"ltc_{r}{suffix}" for r in (SEVERE, MODERATE, AGED, AGED_BED_FEE) for suffix in ("", "_personal")}
    return steps


def test_every_step_the_engine_writes_has_a_chinese_name():
    steps = _engine_steps()
    assert {"class_c_excluded", "deductible", "band_fund", "fund_annual_cap"} <= steps
    assert not steps - set(STEP_LABELS), sorted(steps - set(STEP_LABELS))
    with override("zh-hans"):
        untranslated = [s for s in steps if re.search(r"[A-Za-z]{3,}", str(STEP_LABELS[s]))]
    assert not untranslated


def test_calculation_steps_read_as_a_table_with_chinese_names():
    lines = [{"step": "class_c_excluded", "amount": "1500.00", "payer": "personal"},
             {"step": "band_fund", "amount": "12345.60", "payer": "fund", "parameter": "inpatient.bands", "rate": "0.85"}]
    with override("zh-hans"):
        html = str(breakdown_table(lines, {"inpatient.bands": "统筹基金分段支付比例"}))
    assert "class_c_excluded" not in html and "丙类" in html
    assert "统筹基金分段支付比例" in html and "85%" in html and "12,345.60" in html


# --------------------------------------------------------------------------- policy parameters


def test_parameter_values_read_with_chinese_keys_and_codes_as_codes():
    value = {"provincial_tertiary": {"adult": "1200", "child": "600"}, "unknown_code": "1"}
    with override("zh-hans"):
        table, summary = str(render_value(value)), str(value_summary(value))
    assert "成年居民" in table and "adult" not in table
    assert "<code>unknown_code</code>" in table  # a code nobody translated is shown as a code, not as a word
    assert "成年居民" in summary and "{" not in summary


@pytest.mark.django_db
def test_a_reader_sees_a_parameter_as_a_table_and_no_raw_json(client, reference_data):
    from django.contrib.auth import get_user_model

    from medins.demo import demo_users_ensure
    from medins.models import PolicyParameter

    demo_users_ensure()
    client.force_login(get_user_model().objects.get(username="reviewer"))
    param = PolicyParameter.objects.get(version__code="220100-2021", key="inpatient.deductible")
    body = client.get(f"/admin/medins/policyparameter/{param.pk}/change/").content.decode()
    assert "住院起付线" in body and "成年居民" in body
    assert '"adult"' not in body and "provincial_tertiary" not in body
    listing = client.get("/admin/medins/policyparameter/?q=inpatient.deductible").content.decode()
    assert '{"' not in listing and "住院起付线" in listing


# --------------------------------------------------------------------------- histories


def test_a_transition_reads_by_its_states_labels():
    from claims.models import CaseTransition
    from claims.settlement.admin.pool import run_note
    from claims.settlement.models import RunTransition

    with override("zh-hans"):
        assert "under_review" not in str(CaseTransition(from_state="received", to_state="under_review"))
        assert str(RunTransition(from_state="pending", to_state="running")) != "pending → running"
        assert "institutions" not in run_note("2 institutions") and "2" in run_note("2 institutions")
        assert run_note("processing") != "processing"


@pytest.mark.django_db
def test_the_change_history_page_shows_no_changes_heading_in_english_nor_none(superuser_client, reference_data):
    from claims.models import Case, CaseType
    from claims.services import case_receive
    from enrollment.models import CoveragePeriod
    from tests.claims.factories import PersonFactory, invoice

    person = PersonFactory(birth=dt.date(1980, 3, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=dt.date(2021, 1, 1),
                                  covered_to=dt.date(2021, 12, 31))
    from django.contrib.auth import get_user_model

    clerk = get_user_model().objects.create_user("clerk_for_history")
    case = case_receive(acting_user=clerk, case_type=CaseType.objects.get(region__code="220100", code="out_of_province_emergency_admission"),
                        person=person, service_from="2021-05-10", service_to="2021-05-20", institution_name="北京协和医院",
                        institution_level="municipal_tertiary", invoices=[invoice()])
    Case.objects.filter(pk=case.pk).update(note="x")
    body = superuser_client.get(f"/admin/claims/case/{case.pk}/history/").content.decode()
    assert "变更内容" in body
    assert ">None<" not in body and "Changes" not in body


def test_a_bad_value_names_its_field_by_the_chinese_header_for_a_chinese_reader():
    from claims.settlement.imports import COLUMNS as _declared  # noqa: F401 - declares 甲类费用 for class_a
    from medins.parsing import ParseError, parse_money

    with pytest.raises(ParseError) as caught:
        parse_money("abc", "class_a")
    with override("zh-hans"):
        assert caught.value.localized().startswith("甲类费用: ")
    with override("en"):
        assert caught.value.localized().startswith("class_a: ")
    assert str(caught.value).startswith("class_a: ")  # the API's text is unchanged


def test_an_upload_error_names_its_field_by_the_pages_columns_before_the_generic_labels():
    """One label function (medins.value_display.label) for the policy pages and the upload reports
    (the label_in filter): the page's own names come first — a care claim's "name" column is the
    resident's name, not the generic "name" of CODE_LABELS; an unknown field is shown as a code."""
    from medins.templatetags.medins_display import label_in
    from medins.value_display import CODE_LABELS, label

    assert label_in("name", {"name": "姓名"}) == "姓名" and label("name", {"name": "姓名"}) == "姓名"
    assert label("name") == CODE_LABELS["name"]
    assert "<code" in label_in("unknown_field", {"name": "姓名"}) and label_in("", {}) == "—"
    # a fixed-copay programme's name in a parameter value: 名称, not django-celery-beat's 任务名 for "Name"
    with override("zh-hans"):
        assert str(label("name")) == "名称"
        table = render_value({"cataract_both_eyes": {"name": "白内障（双眼）单病种定额", "amount": "1050"}})
        assert "<th>名称</th>" in table and "任务名" not in table
