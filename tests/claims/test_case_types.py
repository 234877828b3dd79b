"""Loading the shipped case types (DOMAIN §6): the source a case type cites is data, per region."""

import io

import pytest
import yaml
from django.core.management import call_command

from claims.models import CaseType
from claims.services.case_types import CASE_TYPES_FILE, CaseTypesFileError, case_types_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def regions(empty_reference_data):
    """The regions without case types: these tests load the case types themselves."""
    call_command("load_reference_data", verbosity=0, stdout=io.StringIO())


def test_shipped_jinan_types_cite_the_jinan_table(regions):
    """DOMAIN §6: each Jinan case type cites its line of the Jinan manual-claims table."""
    case_types_load()

    assert CaseType.objects.get(region__code="370100", number=3).source == "济南手工报销表第3项"


def test_the_default_source_is_a_per_region_template_not_a_region_test(regions, tmp_path):
    """Issue #10 item 5 (the Jinan branch of case_types.py): no region code is compared in code —
    any region's file may give a source template, and a region without one cites nothing."""
    data = yaml.safe_load(CASE_TYPES_FILE.read_text(encoding="utf-8"))
    data["source_templates"] = {"220100": "长春手册第{number}条"}
    data["regions"]["220100"][0].pop("source", None)
    data["regions"]["220100"][0]["number"] = 7
    path = tmp_path / "case_types.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    case_types_load(path=path)

    assert CaseType.objects.get(region__code="220100", code=data["regions"]["220100"][0]["code"]).source == "长春手册第7条"
    assert CaseType.objects.get(region__code="370100", number=3).source == ""


def test_a_template_for_a_region_without_case_types_is_refused(regions, tmp_path):
    data = yaml.safe_load(CASE_TYPES_FILE.read_text(encoding="utf-8"))
    data["source_templates"] = {"110100": "第{number}项"}
    path = tmp_path / "case_types.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with pytest.raises(CaseTypesFileError, match="110100"):
        case_types_load(path=path)
