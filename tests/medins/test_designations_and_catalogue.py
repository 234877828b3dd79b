"""Designations of the seeds' institutions (DOMAIN.md §2, §4.1–4.4, §7) and catalogue items'
aliases and validity (issue 12 item 3), as loaded from medins/reference/."""

import datetime as dt
import shutil

import pytest
import yaml
from django.core.exceptions import ValidationError

from medins.models import CatalogueItem, Institution, InstitutionLevel
from medins.selectors import catalogue_items_resolve
from medins.services.reference_data import REFERENCE_DIR, ReferenceDataError, reference_data_load

CC, JN = "220100", "370100"
HIGHER = [InstitutionLevel.PROVINCIAL_TERTIARY, InstitutionLevel.MUNICIPAL_TERTIARY, InstitutionLevel.SECONDARY]


def holders(designation, region=CC):
    return Institution.objects.filter(designations__code=designation, region__code=region)


@pytest.mark.parametrize(("designation", "region", "count"), [
    ("chronic_exam", CC, 7),            # §2, §4.2: 7 exam hospitals (handbook Q9)
    ("special_drug_hospital", CC, 10),  # §2, §4.4: 10 special-drug hospitals (Q15)
    ("special_drug_pharmacy", CC, 7),   # §2, §4.4: 7 pharmacies (Q15)
    ("referral_approval", CC, 12),      # §2: 12 referral-approval hospitals (Q20)
    ("chronic_treatment", CC, 7),       # §4.2: five district hospitals + the sample community and township centres
    ("ltc_home", CC, 2),                # §7: the seed names 2 of the 105 homes (the rest come by import)
    ("special_disease", CC, 23),        # §4.1: every named hospital of secondary level or above
    ("two_diseases", JN, 3),            # §4.3: below secondary (samples: school clinic, community, township)
])
def test_designation_counts_follow_the_seeds(db, designation, region, count):
    assert holders(designation, region).count() == count


def test_chronic_treatment_is_the_five_district_hospitals_and_every_primary_centre(db):
    # DOMAIN.md §4.2: "the five district hospitals, community centres and township centres"
    treatment = holders("chronic_treatment")
    assert treatment.filter(level=InstitutionLevel.SECONDARY, kind="hospital").count() == 5
    assert set(treatment.exclude(level=InstitutionLevel.SECONDARY).values_list("level", flat=True)) == {"primary"}
    primary_centres = Institution.objects.filter(region__code=CC, level="primary", kind="clinic")
    assert set(primary_centres) <= set(treatment)


def test_special_disease_handling_is_secondary_and_above_only(db):
    # DOMAIN.md §4.1: certified at a secondary-or-higher hospital
    hospitals = Institution.objects.filter(region__code=CC, kind="hospital", level__in=HIGHER)
    assert set(holders("special_disease")) == set(hospitals)


def test_two_diseases_institutions_are_below_secondary(db):
    # DOMAIN.md §4.3: designated institutions below secondary level only
    assert set(holders("two_diseases", JN).values_list("level", flat=True)) <= {"primary", "village"}


def test_special_drug_pharmacies_are_pharmacies_and_care_homes_care_homes(db):
    assert set(holders("special_drug_pharmacy").values_list("kind", flat=True)) == {"pharmacy"}
    assert set(holders("ltc_home").values_list("kind", flat=True)) == {"care_home"}
    assert set(holders("special_drug_hospital").values_list("kind", flat=True)) == {"hospital"}


def test_township_centres_are_flagged_and_primary(db):
    # DOMAIN.md §4.2: Jinan dialysis 90% at a township health centre, an institution attribute
    township = Institution.objects.filter(township=True)
    assert set(township.values_list("region__code", "code")) == {(CC, "CC-C-002"), (JN, "JN-C-002")}
    assert set(township.values_list("level", flat=True)) == {"primary"}


def test_a_township_flag_on_a_hospital_is_refused(db, tmp_path):
    target = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, target)
    path = target / "institutions" / "370100.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["institutions"][1]["township"] = True  # JN-H-001, a tertiary hospital
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="JN-H-001.*primary-level"):
        reference_data_load(base_dir=target, dry_run=True)


# --------------------------------------------------------------------------- catalogue


def test_the_attribute_alias_moved_to_aliases(db):
    item = CatalogueItem.objects.get(region__code=CC, kind="special_drug", code="CC-D-002")
    assert item.name == "泊沙康唑"
    assert item.aliases == ["波沙康唑"]
    assert "alias" not in item.attributes
    assert not CatalogueItem.objects.filter(attributes__has_key="alias").exists()


def test_jinan_special_drugs_carry_the_batch_dates_of_the_seed(db):
    # Jinan seed, 52 special drugs by batch: ① 2018-01-01, ② 2017-01-01, ③ 2017-09-01, ④(1) 2018-11-30, ④(2) 2018-06-01
    jn = CatalogueItem.objects.filter(region__code=JN, kind="special_drug")
    assert jn.get(name="地西他滨").valid_from == dt.date(2018, 1, 1)
    assert jn.get(name="伊马替尼").valid_from == dt.date(2017, 1, 1)
    assert jn.get(name="泊沙康唑").valid_from == dt.date(2017, 9, 1)
    assert jn.get(name="阿扎胞苷").valid_from == dt.date(2018, 11, 30)
    assert jn.get(name="培门冬酶").valid_from == dt.date(2018, 6, 1)
    assert jn.get(name="西妥昔单抗").valid_from is None  # ④(3): the seed gives no date
    assert jn.filter(valid_from__isnull=False).count() == 31  # 12 + 1 + 11 + 6 + 1


def test_resolve_by_code_name_and_alias_in_one_query(db, django_assert_num_queries):
    on = dt.date(2021, 6, 1)
    with django_assert_num_queries(1):
        found = catalogue_items_resolve(region=CC, kind="special_drug", on=on,
                                        names=["CC-D-003", "泊沙康唑", "波沙康唑", " 索拉非尼 ", "伊莎佐米", "阿司匹林"])
    assert {k: v.code for k, v in found.items()} == {
        "CC-D-003": "CC-D-003", "泊沙康唑": "CC-D-002", "波沙康唑": "CC-D-002", "索拉非尼": "CC-D-008",
        "伊莎佐米": "CC-D-040",
    }


def test_resolve_respects_the_region_and_kind(db):
    on = dt.date(2021, 6, 1)
    assert catalogue_items_resolve(region=JN, kind="special_drug", names=["奥希替尼"], on=on)["奥希替尼"].code.startswith("JN-")
    assert catalogue_items_resolve(region=CC, kind="chronic_disease", names=["泊沙康唑"], on=on) == {}
    assert catalogue_items_resolve(region=CC, kind="special_drug", names=[], on=on) == {}


def test_resolve_only_items_in_force_on_the_date(db):
    # Jinan batch ④(1) entered on 2018-11-30: a line of the day before names no special drug
    assert catalogue_items_resolve(region=JN, kind="special_drug", names=["伊沙佐米"], on=dt.date(2018, 11, 29)) == {}
    assert catalogue_items_resolve(region=JN, kind="special_drug", names=["伊沙佐米"], on=dt.date(2018, 11, 30))
    item = CatalogueItem.objects.get(region__code=CC, code="CC-D-002")
    item.valid_to = dt.date(2021, 12, 31)
    item.save()
    assert catalogue_items_resolve(region=CC, kind="special_drug", names=["波沙康唑"], on=dt.date(2022, 1, 1)) == {}
    item.active = False
    item.save()
    assert catalogue_items_resolve(region=CC, kind="special_drug", names=["泊沙康唑"], on=dt.date(2021, 6, 1)) == {}


def test_a_successor_item_may_take_over_a_name_after_the_first_ends(db):
    old = CatalogueItem.objects.get(region__code=CC, code="CC-D-002")
    old.valid_to = dt.date(2021, 12, 31)
    old.save()
    new = CatalogueItem.objects.create(region=old.region, kind="special_drug", code="CC-D-999", name="泊沙康唑注射液",
                                       aliases=["泊沙康唑"], valid_from=dt.date(2022, 1, 1))
    resolve = lambda day: catalogue_items_resolve(region=CC, kind="special_drug", names=["泊沙康唑"], on=day)  # noqa: E731
    assert resolve(dt.date(2021, 12, 31))["泊沙康唑"] == old
    assert resolve(dt.date(2022, 1, 1))["泊沙康唑"] == new


def test_an_alias_naming_two_items_on_the_same_dates_is_refused(db, tmp_path):
    target = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, target)
    path = target / "catalogues" / "220100.yaml"
    text = path.read_text(encoding="utf-8").replace("    aliases: [索拉非尼]\n", "    aliases: [索拉非尼, 泊沙康唑]\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="泊沙康唑.*CC-D-002 and CC-D-008"):
        reference_data_load(base_dir=target, dry_run=True)


def test_validity_end_before_start_is_refused(db):
    item = CatalogueItem.objects.get(region__code=CC, code="CC-D-002")
    item.valid_from, item.valid_to = dt.date(2021, 2, 1), dt.date(2021, 1, 1)
    with pytest.raises(ValidationError):
        item.full_clean()


def test_reload_fills_new_fields_of_existing_rows_but_keeps_a_clerk_value(db):
    # rows loaded before aliases, dates and the township flag existed get them from the files
    CatalogueItem.objects.filter(code="CC-D-008").update(aliases=[])
    CatalogueItem.objects.filter(code="JN-D-001").update(valid_from=None)
    CatalogueItem.objects.filter(code="CC-D-040").update(aliases=["伊沙佐米注射剂"])  # a clerk's own alias
    Institution.objects.filter(code="CC-C-002").update(township=False)
    report = reference_data_load()
    assert CatalogueItem.objects.get(code="CC-D-008").aliases == ["索拉非尼"]
    assert CatalogueItem.objects.get(code="JN-D-001").valid_from == dt.date(2018, 1, 1)
    assert CatalogueItem.objects.get(code="CC-D-040").aliases == ["伊沙佐米注射剂"]
    assert Institution.objects.get(code="CC-C-002").township is True
    assert report.counts["catalogue items"].updated == 2
    assert any("CC-D-040" in line and "aliases" in line for line in report.kept)


def test_the_catalogue_admin_finds_an_item_by_its_alias(db, superuser_client, django_assert_max_num_queries):
    from django.urls import reverse

    url = reverse("admin:medins_catalogueitem_changelist")
    with django_assert_max_num_queries(10):
        page = superuser_client.get(url, {"q": "波沙康唑"}).content.decode()
    assert "CC-D-002" in page and "JN-D-" in page  # Changchun's 泊沙康唑 by alias, Jinan's by alias too
    assert "CC-D-003" not in page


def test_a_clerk_writes_aliases_separated_by_the_chinese_comma(db, superuser_client):
    from django.urls import reverse

    item = CatalogueItem.objects.get(region__code=CC, code="CC-D-003")
    url = reverse("admin:medins_catalogueitem_change", args=[item.pk])
    form = {"region": item.region_id, "kind": item.kind, "code": item.code, "name": item.name, "group": item.group,
            "aliases": "赫赛汀、曲妥珠单抗注射液; 赫赛汀", "attributes": "{}", "valid_from": "2021-01-01", "valid_to": "",
            "active": "on"}
    response = superuser_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert item.aliases == ["赫赛汀", "曲妥珠单抗注射液"]
    assert item.valid_from == dt.date(2021, 1, 1)
    found = catalogue_items_resolve(region=CC, kind="special_drug", names=["赫赛汀"], on=dt.date(2021, 3, 1))
    assert found["赫赛汀"] == item
