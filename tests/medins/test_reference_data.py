"""Loading the shipped reference data (load_reference_data; DOMAIN.md §2, policy is data)."""

import io
import shutil

import pytest
import yaml
from django.core.management import CommandError, call_command

from medins.models import CatalogueItem, Designation, Institution, PolicyParameter, PolicyVersion, Region
from medins.services.reference_data import REFERENCE_DIR, ReferenceDataError, reference_data_load

# The loader's own tests start from empty tables (the session loads the reference data for everyone else).
pytestmark = pytest.mark.usefixtures("empty_reference_data")

MODELS = [Region, Designation, Institution, CatalogueItem, PolicyVersion, PolicyParameter]


def load(**kwargs) -> str:
    out = io.StringIO()
    call_command("load_reference_data", stdout=out, **kwargs)
    return out.getvalue()


def row_counts():
    return {m.__name__: (m.objects.count(), m.history.count()) for m in MODELS}


@pytest.fixture
def reference_copy(tmp_path):
    """A private copy of medins/reference/ a test may change."""
    target = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, target)
    return target


def edit_parameters(path, change):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc["parameters"])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def names(designation, region="220100"):
    institutions = Institution.objects.filter(designations__code=designation, region__code=region)
    return set(institutions.values_list("short_name", flat=True))


def test_loader_creates_regions_designations_institutions_catalogues_and_policy(db):
    # when
    output = load()
    # then
    assert dict(Region.objects.values_list("code", "name")) == {"220100": "长春市", "370100": "济南市"}
    assert Designation.objects.count() == 12
    assert Designation.objects.get(code="special_drug_pharmacy").name == "特药定点药店"
    assert Institution.objects.filter(region__code="220100").count() == 35
    assert Institution.objects.filter(region__code="370100").count() == 7
    cc = CatalogueItem.objects.filter(region__code="220100")
    assert cc.filter(kind="special_disease").count() == 43
    assert cc.filter(kind="chronic_disease").count() == 18
    assert cc.filter(kind="special_drug", group="copay_35").count() == 88
    assert cc.filter(kind="special_drug", group="copay_10").count() == 10
    assert cc.filter(kind="fixed_copay", group="low_copay").count() == 29
    assert cc.filter(kind="fixed_copay", group="single_disease").count() == 30
    assert cc.filter(kind="emergency_condition").count() == 14
    assert cc.filter(kind="day_surgery").values("group").distinct().count() == 7
    jn = CatalogueItem.objects.filter(region__code="370100", kind="special_drug")
    assert jn.filter(group="basic").count() == 52
    assert jn.filter(group="catastrophic").count() == 4
    assert set(PolicyVersion.objects.values_list("code", flat=True)) >= {"220100-2021", "370100-2021"}
    rate = PolicyParameter.objects.get(version__code="220100-2021", key="outpatient_pool.rate")
    assert rate.value == rate.loaded_value == "0.50"
    assert "created" in output


def test_chronic_disease_caps_are_catalogue_attributes_and_a_parameter(db):
    # DOMAIN.md §4: coronary 3000, diabetes 2400, heart failure 2100, gout 1900
    load()
    caps = PolicyParameter.objects.get(version__code="220100-2021", key="chronic.annual_cap_by_disease").value
    for code, cap in {"coronary_heart_disease": "3000", "diabetes": "2400", "heart_failure": "2100", "gout": "1900"}.items():
        assert CatalogueItem.objects.get(region__code="220100", kind="chronic_disease", code=code).attributes["annual_cap"] == cap
        assert caps[code] == cap
    item_codes = set(CatalogueItem.objects.filter(region__code="220100", kind="chronic_disease").values_list("code", flat=True))
    assert set(caps) == item_codes
    by_disease = PolicyParameter.objects.get(version__code="220100-2021", key="special_disease.annual_cap_by_disease").value
    assert CatalogueItem.objects.get(kind="special_disease", code="SPD-042").name.startswith("子宫内膜异位症")
    # DOMAIN.md §4.1: the 15 000 / 10 000 cap is 苯丙酮尿症's (SPD-041) alone, by person group
    assert by_disease == {"SPD-041": {"adult": "10000", "college_student": "10000", "minor": "15000",
                                      "student": "15000", "newborn": "15000"},
                          "SPD-042": "12000", "SPD-043": "35000"}
    assert not PolicyParameter.objects.filter(version__code="220100-2021", key="special_disease.annual_cap").exists()
    spd = CatalogueItem.objects.filter(region__code="220100", kind="special_disease")
    assert spd.get(code="SPD-041").attributes["annual_cap"] == by_disease["SPD-041"]
    assert {i.code for i in spd if "annual_cap" in i.attributes} == {"SPD-041", "SPD-042", "SPD-043"}
    # DOMAIN.md §5: the episodic special diseases carry the attribute the certification validity reads
    assert {i.code for i in spd if i.attributes.get("episodic")} == {"SPD-011", "SPD-012", "SPD-013", "SPD-029", "SPD-036"}
    assert PolicyParameter.objects.get(version__code="220100-2021", key="certification.validity_days_episodic").value == "90"


def test_parameter_values_are_never_floats(db):
    load()

    def walk(value):
        assert not isinstance(value, float)
        for v in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
            walk(v)

    for value in PolicyParameter.objects.values_list("value", flat=True):
        walk(value)


def test_jinan_has_no_inpatient_parameter(db):
    # the Jinan seed gives no inpatient figures: a Jinan inpatient quote must be a missing parameter
    load()
    jinan = PolicyParameter.objects.filter(version__code="370100-2021")
    assert jinan.exists()
    assert not jinan.filter(key__startswith="inpatient.").exists()


def test_second_run_changes_nothing(db):
    # given
    load()
    before = row_counts()
    # when
    report = reference_data_load()
    # then
    assert row_counts() == before
    assert not report.changed
    assert all(c.created == c.updated == c.kept == 0 for c in report.counts.values())


def test_rows_saved_by_the_loader_carry_the_change_reason(db):
    load()
    reasons = set(PolicyParameter.history.values_list("history_change_reason", flat=True))
    assert reasons == {"load_reference_data"}
    assert set(Institution.history.values_list("history_change_reason", flat=True)) == {"load_reference_data"}


def test_clerk_edit_of_a_parameter_survives_a_reload_and_is_reported(db):
    # given: a clerk changed the outpatient pool rate in the admin
    load()
    param = PolicyParameter.objects.get(version__code="220100-2021", key="outpatient_pool.rate")
    param.value = "0.55"
    param.save()
    history = PolicyParameter.history.count()
    # when
    output = load()
    # then
    param.refresh_from_db()
    assert param.value == "0.55"
    assert param.loaded_value == "0.50"
    assert "kept local edit of 220100-2021 outpatient_pool.rate" in output
    assert PolicyParameter.history.count() == history


def test_changed_shipped_value_updates_an_unedited_parameter(db, reference_copy):
    # given: loaded, then the shipped file corrects the rate
    reference_data_load(base_dir=reference_copy)
    edit_parameters(
        reference_copy / "policies/220100-2021/outpatient.yaml",
        lambda params: params["outpatient_pool.rate"].update(value="0.52"),
    )
    # when
    report = reference_data_load(base_dir=reference_copy)
    # then
    param = PolicyParameter.objects.get(version__code="220100-2021", key="outpatient_pool.rate")
    assert param.value == param.loaded_value == "0.52"
    assert report.counts["policy parameters"].updated == 1
    assert param.history.first().history_change_reason == "load_reference_data"


def test_shipped_change_does_not_override_a_clerk_edit(db, reference_copy):
    reference_data_load(base_dir=reference_copy)
    PolicyParameter.objects.filter(version__code="220100-2021", key="outpatient_pool.annual_cap").update(value="1200")
    edit_parameters(
        reference_copy / "policies/220100-2021/outpatient.yaml",
        lambda params: params["outpatient_pool.annual_cap"].update(value="1100"),
    )
    report = reference_data_load(base_dir=reference_copy)
    param = PolicyParameter.objects.get(version__code="220100-2021", key="outpatient_pool.annual_cap")
    assert (param.value, param.loaded_value) == ("1200", "1000")
    assert any("outpatient_pool.annual_cap" in line for line in report.kept)


def test_duplicate_key_across_two_files_is_an_error_naming_both(db, reference_copy):
    # given: a second file of the same version defines a key outpatient.yaml already has
    (reference_copy / "policies/220100-2021/zz_extra.yaml").write_text(
        'parameters:\n  outpatient_pool.rate:\n    value: "0.40"\n', encoding="utf-8"
    )
    # when / then
    with pytest.raises(ReferenceDataError) as exc:
        reference_data_load(base_dir=reference_copy)
    assert "outpatient.yaml" in str(exc.value)
    assert "zz_extra.yaml" in str(exc.value)
    assert "outpatient_pool.rate" in str(exc.value)
    with pytest.raises(CommandError, match="zz_extra.yaml"):
        load(base_dir=str(reference_copy))
    assert not Region.objects.exists()  # nothing was written


def test_a_float_amount_is_refused(db, reference_copy):
    (reference_copy / "policies/370100-2021/zz_float.yaml").write_text(
        "parameters:\n  accident.extra:\n    value: 0.8\n", encoding="utf-8"
    )
    with pytest.raises(ReferenceDataError, match="zz_float.yaml: accident.extra.*float"):
        reference_data_load(base_dir=reference_copy)


def test_a_key_repeated_in_one_file_is_refused(db, reference_copy):
    (reference_copy / "policies/370100-2021/zz_twice.yaml").write_text(
        'parameters:\n  accident.x:\n    value: "1"\n  accident.x:\n    value: "2"\n', encoding="utf-8"
    )
    with pytest.raises(ReferenceDataError, match="zz_twice.yaml.*duplicate key"):
        reference_data_load(base_dir=reference_copy)


def test_existing_institution_is_left_untouched_and_reported(db):
    load()
    Institution.objects.filter(code="CC-H-001").update(short_name="吉大一")
    report = reference_data_load()
    assert Institution.objects.get(code="CC-H-001").short_name == "吉大一"
    assert report.counts["institutions"].kept == 1
    assert any("CC-H-001" in line and "short_name" in line for line in report.kept)


def test_special_drug_institutions_of_the_seed_are_present(db):
    # handbook Q15: 10 designated hospitals and 7 pharmacies
    load()
    assert names("special_drug_hospital") == {
        "吉大一院", "吉大二院", "中日联谊", "省人民医院", "市中心医院",
        "省肝胆病医院", "省肿瘤医院", "长春中医药大学附属医院", "市传染病医院", "长春市肿瘤医院",
    }
    pharmacies = set(Institution.objects.filter(designations__code="special_drug_pharmacy", region__code="220100").values_list("name", flat=True))
    assert pharmacies == {
        "吉林大药房药业股份有限公司重庆路连锁店", "长春大格大药房有限公司红旗店", "长春大格大药房有限公司",
        "吉林省上药科园大药房有限公司", "国药控股大药房(吉林)有限公司", "国药控股大药房(吉林)有限公司长春分公司",
        "吉林省上药众协大药房有限公司",
    }
    assert not Institution.objects.filter(designations__code="special_drug_pharmacy", region__code="220100").exclude(kind="pharmacy").exists()


def test_chronic_exam_and_referral_institutions_of_the_seed_are_present(db):
    # handbook Q9 (7 chronic-disease exam hospitals) and Q20 (12 referral-approval hospitals)
    load()
    assert names("chronic_exam") == {"中日联谊", "解放军九六四医院", "一汽总医院", "市中心医院", "市人民医院", "市二院", "市中医院"}
    assert names("referral_approval") == {
        "吉大一院", "吉大二院", "中日联谊", "一汽总医院", "吉大口腔", "省人民医院",
        "市中心医院", "省肿瘤医院", "市传染病医院", "省肝胆病医院", "市儿童医院", "市六院",
    }
    # Q10/Q12/Q36: the five district hospitals treat chronic diseases, run the outpatient pool, fixed copay
    district = Institution.objects.filter(region__code="220100", level="secondary")
    assert district.count() == 5
    for inst in district:
        assert {"chronic_treatment", "outpatient_pool", "fixed_copay"} <= {d.code for d in inst.designations.all()}


def test_one_hospital_named_differently_in_the_seed_is_one_institution(db):
    load()
    (zhongri,) = Institution.objects.filter(name__contains="中日联谊")
    assert {d.code for d in zhongri.designations.all()} >= {"chronic_exam", "special_drug_hospital", "referral_approval"}
    assert Institution.objects.filter(name__contains="一汽").count() == 1
    assert "九四一" in Institution.objects.get(short_name="解放军九六四医院").notes


def test_dry_run_writes_nothing(db):
    output = load(dry_run=True)
    assert "rolled back" in output
    assert not Region.objects.exists()


def test_fixed_copay_catalogue_items_point_at_existing_programmes(db):
    load()
    programmes = PolicyParameter.objects.get(version__code="220100-2021", key="fixed_copay.programmes").value
    referenced = [
        code
        for attributes in CatalogueItem.objects.filter(kind="fixed_copay").values_list("attributes", flat=True)
        for code in attributes.get("programmes", [])
    ]
    assert referenced
    assert set(referenced) <= set(programmes)


def test_every_shipped_parameter_passes_the_checks_a_clerk_edit_must_pass():
    """Issue #10 item 5: the admin applies check_parameter (the loader's checks plus the shipped shape);
    the shipped values themselves pass it, so a clerk can always save a value as shipped."""
    from medins.services.reference_data import check_parameter, reference_data_read

    data = reference_data_read()
    for params in data.parameters.values():
        for key, entry in params.items():
            check_parameter(key, entry["value"], shipped=entry["value"])
