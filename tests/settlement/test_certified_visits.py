"""Certified outpatient visits through the visit ingestion (DOMAIN.md §4.0–4.4, §5; issue 12 item 5).

Changchun reference data: CC-H-001 provincial tertiary (special-drug hospital), CC-H-019
secondary district hospital, CC-C-001 primary community centre, CC-C-003 village clinic,
CC-P-001 special-drug pharmacy.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from claims.ledger.models import LedgerAccount, LedgerEntry
from claims.ledger.selectors import discrepancies
from claims.settlement.models import CertifiedVisit, FeeAccount, Visit
from claims.settlement.services import certified_visits_ingest, visits_receive

from .conftest import cvisit, visit

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def receive():
    def run(institution, rows, user=None):
        with translation.override("zh-hans"):
            return visits_receive(acting_user=user, institution=institution, rows=rows)

    return run


def _errors(result):
    return {e["visit_id"]: e for e in result.errors}


# --------------------------------------------------------------------------- the contract's figures


def test_chronic_visit_pays_sixty_percent_under_the_pooled_cap_of_every_disease_certified(cc, make_resident, certify,
                                                                                         receive):
    """§4.2 / contracts/quote.md chronic example: 冠心病 (3000) and 糖尿病 (2400) → cap 3480; fund 60% of A + B."""
    person = make_resident()
    certify(person, "chronic", "coronary_heart_disease", cc["primary"])
    certify(person, "chronic", "diabetes", cc["primary"])
    result = receive(cc["primary"], [cvisit("C-1", person, D(2021, 8, 2), "chronic", "diabetes", "500.00", "300.00",
                                            "40.00")])
    assert result.errors == [] and result.created == 1
    v = CertifiedVisit.objects.get(visit_id="C-1")
    assert (v.fund, v.personal, v.total, v.benefit, v.item_code) == (Decimal("480.00"), Decimal("360.00"),
                                                                     Decimal("840.00"), "chronic", "diabetes")
    # The pooled cap (3480, not diabetes' own 2400) binds a later large visit.
    receive(cc["primary"], [cvisit("C-2", person, D(2021, 8, 3), "chronic", "diabetes", "9000.00")])
    assert CertifiedVisit.objects.get(visit_id="C-2").fund == Decimal("3000.00")  # 3480 − 480
    receive(cc["primary"], [cvisit("C-3", person, D(2021, 8, 4), "chronic", "coronary_heart_disease", "1000.00")])
    assert CertifiedVisit.objects.get(visit_id="C-3").fund == Decimal("0.00")


def test_special_disease_visit_at_the_certifying_hospital(cc, make_resident, certify, receive):
    """§4.1 / contract example SPD-027 at provincial tertiary: B co-pay 200, deductible 1200, 55% of 3600 = 1980."""
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["tertiary"])
    result = receive(cc["tertiary"], [cvisit("S-1", person, D(2021, 4, 12), "special_disease", "SPD-027", "3000.00",
                                             "2000.00", "100.00")])
    assert result.errors == []
    v = CertifiedVisit.objects.get(visit_id="S-1")
    assert (v.first_copay, v.eligible, v.deductible, v.fund) == (Decimal("200.00"), Decimal("4800.00"),
                                                                 Decimal("1200.00"), Decimal("1980.00"))


def test_special_drug_dispensed_at_a_pharmacy_is_paid_at_the_approving_hospitals_level(cc, make_resident, certify,
                                                                                      receive):
    """§4.4: dispensed at one of the pharmacies, paid at the approving hospital's level (provincial
    tertiary); CC-D-003 (copay_35) on 20 000 of class B: 7 000 first self-pay, 1 200 deductible,
    55% of 11 800 = 6 490."""
    person = make_resident()
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31),
            sites=[(cc["tertiary"], "approving", D(2021, 1, 1), D(2021, 12, 31)),
                   (cc["pharmacy"], "dispensing", D(2021, 1, 1), D(2021, 12, 31))])
    result = receive(cc["pharmacy"], [cvisit("P-1", person, D(2021, 3, 8), "special_drug", "CC-D-003", "0.00",
                                             "20000.00")])
    assert result.errors == []
    v = CertifiedVisit.objects.get(visit_id="P-1")
    assert (v.level, v.first_copay, v.deductible, v.fund) == ("provincial_tertiary", Decimal("7000.00"),
                                                              Decimal("1200.00"), Decimal("6490.00"))
    assert v.institution == cc["pharmacy"]


# --------------------------------------------------------------------------- each refusal and its Chinese reason


def test_no_certification_is_refused_in_chinese(cc, make_resident, receive):
    """§4.0, §5: a certified benefit needs a certification; an unknown ID number gets the same answer."""
    person = make_resident()
    stranger = {**cvisit("N-2", person, D(2021, 5, 1), "chronic", "diabetes"), "id_number": "220102196001019999"}
    result = receive(cc["primary"], [cvisit("N-1", person, D(2021, 5, 1), "chronic", "diabetes"), stranger])
    errors = _errors(result)
    assert errors["N-1"]["code"] == errors["N-2"]["code"] == "not_certified"
    assert errors["N-1"]["message"] == errors["N-2"]["message"] == "该参保人没有该病种的门诊慢性病认定"
    assert not CertifiedVisit.objects.exists()


def test_expired_certification_is_refused(cc, make_resident, certify, receive):
    """§5: episodic special diseases 90 days; a visit after valid_to is refused."""
    person = make_resident()
    certify(person, "special_disease", "SPD-011", cc["secondary"], valid_from=D(2021, 1, 1), valid_to=D(2021, 3, 31),
            state="expired")
    result = receive(cc["secondary"], [cvisit("E-1", person, D(2021, 3, 31), "special_disease", "SPD-011"),
                                       cvisit("E-2", person, D(2021, 4, 1), "special_disease", "SPD-011")])
    errors = _errors(result)
    assert "E-1" not in errors and result.created == 1
    assert errors["E-2"]["code"] == "certification_not_valid"
    assert errors["E-2"]["message"].startswith("就诊日不在认定有效期内")


def test_a_certification_still_open_for_review_pays_nothing(cc, make_resident, certify, receive):
    """§5: only an approval (state in WAS_APPROVED) opens the benefit."""
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary"], state="under_review")
    assert _errors(receive(cc["primary"], [cvisit("R-1", person, D(2021, 5, 1), "chronic", "diabetes")]))["R-1"][
        "code"] == "not_certified"


def test_visit_at_another_institution_is_refused(cc, make_resident, certify, receive):
    """§4.1: paid only at the certifying hospital."""
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["tertiary"])
    error = _errors(receive(cc["tertiary2"], [cvisit("O-1", person, D(2021, 5, 1), "special_disease", "SPD-027")]))[
        "O-1"]
    assert error["code"] == "other_institution"
    assert error["message"] == "就诊日该认定的就医机构是其他机构，不是本机构"


def test_chronic_treatment_institution_changed_takes_effect_the_next_day(cc, make_resident, certify, receive):
    """§4.2, §5: changed on 10 June, effective 11 June: the old centre is paid up to the 10th, the
    new one from the 11th, never the other way round."""
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary2"],
            sites=[(cc["primary"], "treatment", D(2021, 1, 1), D(2021, 6, 10)),
                   (cc["primary2"], "treatment", D(2021, 6, 11), None)])
    old = receive(cc["primary"], [cvisit("T-1", person, D(2021, 6, 10), "chronic", "diabetes"),
                                  cvisit("T-2", person, D(2021, 6, 11), "chronic", "diabetes")])
    new = receive(cc["primary2"], [cvisit("T-3", person, D(2021, 6, 10), "chronic", "diabetes"),
                                   cvisit("T-4", person, D(2021, 6, 11), "chronic", "diabetes")])
    assert set(CertifiedVisit.objects.values_list("visit_id", flat=True)) == {"T-1", "T-4"}
    assert _errors(old)["T-2"]["code"] == _errors(new)["T-3"]["code"] == "other_institution"


def test_special_drug_not_approved_for_that_drug_is_refused(cc, make_resident, certify, receive):
    """§4.4: an approval covers its drug only."""
    person = make_resident()
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31))
    error = _errors(receive(cc["tertiary"], [cvisit("D-1", person, D(2021, 5, 1), "special_drug", "CC-D-004")]))["D-1"]
    assert error["code"] == "not_certified"
    assert error["message"] == "该参保人没有该特药的用药审批（未批准该药品）"


def test_pharmacy_not_named_by_the_approval_is_refused(cc, make_resident, certify, receive):
    """§4.4: dispensed at the approving hospital or the approval's pharmacy only."""
    person = make_resident()
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31),
            sites=[(cc["tertiary"], "approving", D(2021, 1, 1), D(2021, 12, 31)),
                   (cc["pharmacy"], "dispensing", D(2021, 1, 1), D(2021, 12, 31))])
    result = receive(cc["pharmacy2"], [cvisit("D-2", person, D(2021, 5, 1), "special_drug", "CC-D-003")])
    assert _errors(result)["D-2"]["code"] == "other_institution"
    assert receive(cc["tertiary"], [cvisit("D-3", person, D(2021, 5, 1), "special_drug", "CC-D-003")]).created == 1


def test_level_not_admitted_is_not_eligible(cc, make_resident, certify, receive):
    """§4.1: a special disease at a primary institution is not_eligible (even if certified there by mistake)."""
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["primary"])
    error = _errors(receive(cc["primary"], [cvisit("L-1", person, D(2021, 5, 1), "special_disease", "SPD-027")]))[
        "L-1"]
    assert error["code"] == "not_eligible"
    assert error["message"].startswith("该待遇不在本级别机构支付")


def test_not_covered_on_the_service_date_is_refused(cc, make_resident, certify, receive):
    """§4.0, §9: a person covered from 1 July; a visit in June is refused."""
    person = make_resident(covered_from=D(2021, 7, 1))
    certify(person, "chronic", "diabetes", cc["primary"])
    error = _errors(receive(cc["primary"], [cvisit("U-1", person, D(2021, 6, 30), "chronic", "diabetes")]))["U-1"]
    assert (error["code"], error["message"]) == ("not_covered", "就诊日不在参保待遇期内")


def test_unknown_benefit_and_missing_item_are_row_errors(cc, make_resident, receive):
    person = make_resident()
    result = receive(cc["primary"], [{**cvisit("B-1", person, D(2021, 5, 1), "chronic", "diabetes"), "benefit": "x"},
                                     {**cvisit("B-2", person, D(2021, 5, 1), "chronic", ""), "item_code": ""}])
    errors = _errors(result)
    assert errors["B-1"]["field"] == "benefit" and errors["B-2"]["field"] == "item_code"


# --------------------------------------------------------------------------- idempotency, order, ledger


def test_a_visit_sent_again_is_a_duplicate_and_changes_nothing(cc, make_resident, certify, receive):
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary"])
    rows = [cvisit("I-1", person, D(2021, 5, 1), "chronic", "diabetes", "200.00")]
    first = receive(cc["primary"], rows)
    entries = LedgerEntry.objects.count()
    again = receive(cc["primary"], [{**rows[0], "class_a": "900.00"}])
    assert (first.created, again.created, again.duplicates) == (1, 0, 1)
    assert LedgerEntry.objects.count() == entries
    assert CertifiedVisit.objects.get().fund == Decimal("120.00")


def test_a_visit_id_used_for_a_pool_visit_is_refused(cc, make_resident, certify, receive):
    """(institution, visit_id) identifies one visit across pool and certified benefits."""
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary"])
    Visit.objects.create(institution=cc["primary"], visit_id="X-1", person=person, service_date=D(2021, 5, 1),
                         year=2021, month=5, policy_version="220100-2021")
    error = _errors(receive(cc["primary"], [cvisit("X-1", person, D(2021, 5, 2), "chronic", "diabetes")]))["X-1"]
    assert error["code"] == "visit_id_used"


def test_visits_are_computed_in_service_date_order(cc, make_resident, certify, receive):
    """Within a batch, service-date order: the earlier visit takes the deductible whatever the row order."""
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["secondary"])
    receive(cc["secondary"], [cvisit("O-2", person, D(2021, 5, 9), "special_disease", "SPD-027", "1000.00"),
                              cvisit("O-1", person, D(2021, 5, 1), "special_disease", "SPD-027", "300.00")])
    first, second = CertifiedVisit.objects.get(visit_id="O-1"), CertifiedVisit.objects.get(visit_id="O-2")
    # secondary adult deductible 400: the 1 May visit pays 300 of it, the 9 May visit the other 100
    assert (first.deductible, first.fund) == (Decimal("300.00"), Decimal("0.00"))
    assert (second.deductible, second.fund) == (Decimal("100.00"), Decimal("630.00"))  # 70% of 900


def test_ledger_figures_after_a_batch(cc, make_resident, certify, receive):
    """DESIGN "One yearly ledger": one entry per visit; the special disease's fund counts toward
    the 200 000 shared with inpatient (the year account's cap_fund), the disease keeps its own."""
    person = make_resident()
    certify(person, "special_disease", "SPD-027", cc["tertiary"])
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31))
    receive(cc["tertiary"], [cvisit("G-1", person, D(2021, 4, 12), "special_disease", "SPD-027", "3000.00", "2000.00"),
                             cvisit("G-2", person, D(2021, 4, 13), "special_drug", "CC-D-003", "0.00", "20000.00")])
    accounts = {(a.benefit, a.item): a for a in LedgerAccount.objects.filter(person=person, year=2021)}
    assert accounts[("", "")].cap_fund == Decimal("1980.00") + Decimal("6490.00")
    assert accounts[("special_disease", "SPD-027")].fund == Decimal("1980.00")
    assert accounts[("special_disease", "")].deductible == Decimal("1200.00")
    assert accounts[("special_drug", "")].eligible == Decimal("13000.00")
    assert LedgerEntry.objects.filter(source_kind="certified_visit").count() == 2
    assert discrepancies() == []
    assert FeeAccount.objects.get(institution=cc["tertiary"], year=2021).visits == 2


def test_chronic_reads_the_shared_outpatient_total_from_the_ledger(cc, make_resident, certify, receive):
    """§4.2: chronic + outpatient pool together at most 6 500 a year (the pool's fund is in its account)."""
    person = make_resident()
    certify(person, "chronic", "coronary_heart_disease", cc["primary"])
    LedgerAccount.objects.create(person=person, year=2021, benefit="outpatient_pool", fund=Decimal("6300.00"))
    receive(cc["primary"], [cvisit("H-1", person, D(2021, 9, 1), "chronic", "coronary_heart_disease", "1000.00")])
    assert CertifiedVisit.objects.get(visit_id="H-1").fund == Decimal("200.00")


def test_mixed_batch_keeps_the_batch_row_numbers(cc, make_resident, certify, receive, changchun):
    person = make_resident()
    certify(person, "chronic", "diabetes", cc["primary"])
    result = receive(cc["primary"], [visit("M-1", person, D(2021, 5, 1)),
                                     cvisit("M-2", person, D(2021, 5, 1), "chronic", "hypertension")])
    rows = {e["visit_id"]: e["row"] for e in result.errors}
    assert rows == {"M-1": 1, "M-2": 2}  # M-1: not a member of a pool; M-2: not certified for hypertension


def test_the_certification_check_costs_no_query_per_visit(cc, make_resident, certify):
    """DESIGN "Scale": a fixed number of queries per batch, whatever its size."""

    def queries(n, prefix):
        rows = []
        for k in range(n):
            person = make_resident()
            certify(person, "chronic", "diabetes", cc["primary"])
            rows.append(cvisit(f"{prefix}-{k}", person, D(2021, 5, 1 + k % 20), "chronic", "diabetes"))
        with CaptureQueriesContext(connection) as ctx:
            result = certified_visits_ingest(acting_user=None, institution=cc["primary"], rows=rows)
        assert result.created == n, result.errors
        return len(ctx.captured_queries)

    assert queries(2, "Q") == queries(12, "R")


def test_api_accepts_certified_visits_at_a_non_pool_institution(client, cc, make_resident, certify, make_user):
    """One way in: the visits endpoint takes certified rows from any institution (a pharmacy)."""
    person = make_resident()
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31),
            sites=[(cc["tertiary"], "approving", D(2021, 1, 1), D(2021, 12, 31)),
                   (cc["pharmacy"], "dispensing", D(2021, 1, 1), D(2021, 12, 31))])
    client.force_login(make_user("his", "settlement.add_visit"))
    body = {"visits": [cvisit("A-1", person, D(2021, 3, 8), "special_drug", "CC-D-003", "0.00", "20000.00")]}
    response = client.post(reverse("v1:settlement-visits", args=["220100", "CC-P-001"]), json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1 and response.json()["fund"] == "6490.00"


def test_two_diseases_registration_in_jinan_pays_half_up_to_the_disease_cap(receive, make_user):
    """§4.3: 两病 at a primary institution, 50%, at most 300 a year for hypertension."""
    from claims.certifications.models import Certification, CertificationSite
    from enrollment.models import CoveragePeriod
    from medins.models import CatalogueItem, Institution
    from tests.enrollment import factories as ef

    centre = Institution.objects.select_related("region").filter(region__code="370100", level="primary").first()
    person = ef.PersonFactory(area="370102", birth=D(1960, 1, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                  covered_to=D(2021, 12, 31))
    cert = Certification.objects.create(
        number="LB-1", region=centre.region, person=person, kind="two_diseases", institution=centre, state="approved",
        item=CatalogueItem.objects.get(region=centre.region, kind="chronic_disease", code="hypertension"),
        applied_by=make_user("registrar"), valid_from=D(2021, 1, 1))
    CertificationSite.objects.create(certification=cert, institution=centre, role="registering",
                                     valid_from=D(2021, 1, 1))
    result = receive(centre, [cvisit("LB-V1", person, D(2021, 5, 1), "two_diseases", "hypertension", "400.00"),
                              cvisit("LB-V2", person, D(2021, 6, 1), "two_diseases", "hypertension", "400.00")])
    assert result.errors == []
    assert [CertifiedVisit.objects.get(visit_id=v).fund for v in ("LB-V1", "LB-V2")] == [Decimal("200.00"),
                                                                                       Decimal("100.00")]


def test_a_drug_leaving_the_catalogue_mid_batch_is_paid_before_and_refused_after(cc, make_resident, certify, receive):
    """DOMAIN.md §4.4 and issue 12 item 3 (catalogue items have validity dates): a batch's terms are
    read once per policy version and catalogue era, so the visit on the item's last day is paid and
    those after it are refused, in one batch, in either order."""
    from medins.models import CatalogueItem

    CatalogueItem.objects.filter(region__code="220100", kind="special_drug", code="CC-D-003").update(
        valid_to=D(2021, 6, 30))
    person = make_resident()
    certify(person, "special_drug", "CC-D-003", cc["tertiary"], valid_to=D(2021, 12, 31))
    result = receive(cc["tertiary"], [
        cvisit("L-3", person, D(2021, 7, 2), "special_drug", "CC-D-003", "0.00", "1000.00"),
        cvisit("L-1", person, D(2021, 6, 30), "special_drug", "CC-D-003", "0.00", "1000.00"),
        cvisit("L-2", person, D(2021, 7, 1), "special_drug", "CC-D-003", "0.00", "1000.00"),
    ])
    errors = _errors(result)
    assert set(errors) == {"L-2", "L-3"} and result.created == 1
    assert {e["code"] for e in errors.values()} == {"invalid_request"}
    assert errors["L-2"]["message"] == errors["L-3"]["message"] == "CC-D-003 不在本统筹区目录中，或就诊日不在其有效期内"
    assert list(CertifiedVisit.objects.values_list("visit_id", flat=True)) == ["L-1"]


def test_the_catalogue_era_changes_only_at_a_validity_boundary(cc):
    """RegionCatalogue.era, the key under which a batch reuses terms read from the catalogue: days
    between two boundaries share an era; the first day of an item and the day after its last
    start a new one."""
    from medins.models import CatalogueItem
    from medins.selectors import RegionCatalogue

    CatalogueItem.objects.filter(region__code="220100", kind="special_drug", code="CC-D-003").update(
        valid_from=D(2021, 3, 1), valid_to=D(2021, 6, 30))
    catalogue = RegionCatalogue("220100")
    era = catalogue.era
    assert era(D(2021, 3, 1)) == era(D(2021, 6, 30)) != era(D(2021, 2, 28))
    assert era(D(2021, 7, 1)) == era(D(2021, 12, 31)) != era(D(2021, 6, 30))
    for day in (D(2021, 2, 28), D(2021, 3, 1), D(2021, 6, 30), D(2021, 7, 1)):
        same = [d for d in (D(2021, 1, 1) + dt.timedelta(days=k) for k in range(365)) if era(d) == era(day)]
        assert len({catalogue["special_drug", "CC-D-003"].valid_on(d) for d in same}) == 1


def test_a_missing_parameter_is_reported_with_each_visits_own_date(receive, certify):
    """DOMAIN.md §4.2: Jinan 门规 hypertension is paid at the Jinan inpatient ratio, which the seeds do
    not give (missing_parameter). Terms are read once per policy version and catalogue era, so
    two visits of that era are refused by one refusal: each names its own service date."""
    from enrollment.models import CoveragePeriod
    from medins.models import Institution
    from tests.enrollment import factories as ef

    hospital = Institution.objects.select_related("region").get(region__code="370100", code="JN-H-003")
    person = ef.PersonFactory(area="370102", birth=D(1960, 1, 1))
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                  covered_to=D(2021, 12, 31))
    certify(person, "chronic", "hypertension", hospital)
    errors = _errors(receive(hospital, [cvisit("H-1", person, D(2021, 6, 1), "chronic", "hypertension"),
                                        cvisit("H-2", person, D(2021, 6, 15), "chronic", "hypertension")]))
    assert {e["code"] for e in errors.values()} == {"missing_parameter"}
    assert "2021-06-01" in errors["H-1"]["message"] and "2021-06-15" not in errors["H-1"]["message"]
    assert "2021-06-15" in errors["H-2"]["message"] and "2021-06-01" not in errors["H-2"]["message"]
    assert "统筹区 370100 在 2021-06-15 未设置政策参数" in errors["H-2"]["message"]  # in Chinese, naming it
