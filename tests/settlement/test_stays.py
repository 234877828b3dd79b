"""Direct inpatient settlement (住院直接结算): hospitals send discharged stays (API, upload), each
quoted with the inpatient engine against the yearly ledger, paid on the hospital's monthly
fee-for-service statement; a confirmed bed-holding finding on a direct stay is recovered from
the hospital and offset against its next payment order."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from claims.ledger.models import LedgerAccount, LedgerEntry
from claims.models import PaymentOrder
from claims.settlement.models import FeeStatement, InpatientStay, InstitutionOperator, RunKind, UploadKind
from claims.settlement.services import fee_statement_release, settlement_run_start, stays_receive
from claims.settlement.services.uploads import pool_upload_check, pool_upload_confirm
from claims.supervision.models import Finding, GreyListEntry, RecoveryOrder, SettlementDetail, SettlementLine
from claims.supervision.recovery import recovery_order_create
from claims.supervision.services import finding_approve, finding_confirm, nightly_check
from medins.roles import roles_sync
from tests.enrollment.factories import UserFactory

D = dt.date
pytestmark = pytest.mark.django_db


def stay(stay_id, person, admitted, days, *, treat=(0, 1, 2, 6, 7), diagnosis="K35.8", extra=(), **fields):
    """A stay of `days` stay days: a bed (40.00) and a nursing (30.00) line every day, a treatment
    line (1 000.00) on the `treat` days, all class A; `extra` lines as given."""
    lines = []
    for i in range(days):
        day = (admitted + dt.timedelta(days=i)).isoformat()
        lines += [{"date": day, "item": "BED01", "kind": "bed", "quantity": 1, "amount": "40.00", "class": "A"},
                  {"date": day, "item": "NUR01", "kind": "nursing", "quantity": 1, "amount": "30.00", "class": "A"}]
        if i in treat:
            lines.append({"date": day, "item": "TRT01", "kind": "treatment", "quantity": 1, "amount": "1000.00",
                          "class": "A"})
    return {"stay_id": stay_id, "id_number": person.id_number, "admitted": admitted.isoformat(),
            "discharged": (admitted + dt.timedelta(days=days)).isoformat(), "diagnosis": diagnosis,
            "lines": lines + list(extra), **fields}


# A drug of class B (its 10 % co-pay is personal) and a material of class C (personal).
EXTRA = ({"date": "2021-06-11", "item": "DRG01", "kind": "drug", "quantity": 2, "amount": "500.00", "class": "乙"},
         {"date": "2021-06-12", "item": "MAT01", "kind": "material", "quantity": 1, "amount": "200.00", "class": "C"})


@pytest.fixture
def hospital(cc):
    """吉林大学第一医院, provincial tertiary: deductible 1 200 (adult), first band 55 %."""
    h = cc["tertiary"]
    h.bank_name, h.bank_account, h.bank_account_name = "中国银行", "6216600000009876543", h.name
    h.save()
    return h


@pytest.fixture
def patient(make_resident):
    return make_resident()


@pytest.fixture
def users(db):
    roles_sync()

    def make(username, role):
        user = UserFactory(username=username)
        user.groups.add(Group.objects.get(name=role))
        return user

    return {name: make(name, role) for name, role in (("sup1", "supervisor"), ("sup2", "supervisor"),
                                                       ("fin", "finance"), ("starter", "reviewer"))}


def receive(hospital, stays):
    return stays_receive(acting_user=None, institution=hospital, stays=stays)


def test_a_stay_is_quoted_with_the_inpatient_engine_against_the_ledger(hospital, patient):
    """Hand-computed: A = 8 × (40 + 30) + 5 × 1 000 = 5 560, B = 500, C = 200, total 6 260.
    Co-pay 10 % of B = 50; eligible 5 560 + 450 = 6 010; deductible 1 200 (provincial tertiary,
    adult); fund 0.55 × (6 010 − 1 200) = 2 645.50; catastrophic 0 (covered personal 3 414.50 is
    below its 10 000 threshold); personal 6 260 − 2 645.50 = 3 614.50."""
    result = receive(hospital, [stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA)])
    assert (result.created, result.errors, result.fund) == (1, [], Decimal("2645.50"))
    s = InpatientStay.objects.get()
    assert (s.class_a, s.class_b, s.class_c, s.total) == (Decimal("5560.00"), Decimal("500.00"), Decimal("200.00"),
                                                        Decimal("6260.00"))
    assert (s.deductible, s.fund, s.catastrophic, s.personal) == (Decimal("1200.00"), Decimal("2645.50"),
                                                                  Decimal("0.00"), Decimal("3614.50"))
    assert (s.level, s.diagnosis, s.policy_version) == ("provincial_tertiary", "K35.8", "220100-2021")
    # the ledger: the year's cap fund and covered personal, the inpatient deductible
    year = LedgerAccount.objects.get(person=patient, year=2021, benefit="", item="")
    assert (year.cap_fund, year.covered_personal) == (Decimal("2645.50"), Decimal("3414.50"))
    assert LedgerEntry.objects.get(source_kind="inpatient_stay", source_id=s.pk).fund == Decimal("2645.50")
    # the rules' records: diagnosis and lines with their class
    assert SettlementDetail.objects.get(kind="inpatient_stay", object_id=s.pk).diagnosis == "K35.8"
    lines = SettlementLine.objects.filter(kind="inpatient_stay", object_id=s.pk)
    assert lines.count() == 8 * 2 + 5 + 2
    assert set(lines.values_list("cost_class", flat=True)) == {"A", "B", "C"}


def test_a_second_stay_reads_the_first_from_the_ledger(hospital, patient):
    """Two stays in one batch: the second pays its own deductible (per admission) and its fund
    counts toward the yearly cap after the first (running figures of the batch)."""
    receive(hospital, [stay("ZY-2", patient, D(2021, 8, 1), 3, treat=(0,)),
                       stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA)])
    first, second = InpatientStay.objects.order_by("admitted")
    assert first.fund == Decimal("2645.50")
    # second: A = 3 × 70 + 1 000 = 1 210 → 0.55 × (1 210 − 1 200) = 5.50
    assert (second.deductible, second.fund) == (Decimal("1200.00"), Decimal("5.50"))
    year = LedgerAccount.objects.get(person=patient, year=2021, benefit="", item="")
    assert year.cap_fund == Decimal("2651.00")


def test_a_stay_sent_again_is_a_duplicate_and_changes_nothing(hospital, patient):
    receive(hospital, [stay("ZY-1", patient, D(2021, 6, 10), 8)])
    again = receive(hospital, [stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA)])
    assert (again.created, again.duplicates, again.errors) == (0, 1, [])
    assert InpatientStay.objects.count() == 1 and LedgerEntry.objects.filter(source_kind="inpatient_stay").count() == 1


def test_refused_stays_are_named_in_chinese(hospital, patient, make_resident):
    uncovered = make_resident(covered_from=D(2021, 7, 1))
    grey = make_resident()
    GreyListEntry.objects.create(person=grey, from_date=D(2021, 6, 1), to_date=D(2021, 11, 30), reason="演示",
                                 created_by=UserFactory())
    bad_class = stay("ZY-4", patient, D(2021, 6, 10), 2)
    bad_class["lines"][0]["class"] = "D"
    result = receive(hospital, [
        stay("ZY-1", patient, D(2021, 6, 10), 8),
        stay("ZY-2", uncovered, D(2021, 6, 10), 3),
        stay("ZY-3", grey, D(2021, 6, 10), 3),
        bad_class,
        stay("ZY-5", patient, D(2021, 9, 1), 2, diagnosis="appendicitis"),
        stay("ZY-6", patient, D(2021, 9, 1), 2, level="secondary"),
        {**stay("ZY-7", patient, D(2021, 9, 1), 2), "lines": []},
        stay("ZY-1", patient, D(2021, 10, 1), 2),
    ])
    assert result.created == 1
    by_id = {(e["stay_id"], e["row"]): e for e in result.errors}
    assert by_id[("ZY-2", 2)]["code"] == "not_covered" and by_id[("ZY-2", 2)]["message"] == "入院当日未参保"
    assert by_id[("ZY-3", 3)]["code"] == "fund_security" and "灰名单" in by_id[("ZY-3", 3)]["message"]
    assert by_id[("ZY-4", 4)]["field"] == "line_class" and "甲" in by_id[("ZY-4", 4)]["message"]
    assert by_id[("ZY-5", 5)]["field"] == "diagnosis" and "ICD-10" in by_id[("ZY-5", 5)]["message"]
    assert by_id[("ZY-6", 6)]["field"] == "level" and "等级" in by_id[("ZY-6", 6)]["message"]
    assert by_id[("ZY-7", 7)]["field"] == "lines" and "明细" in by_id[("ZY-7", 7)]["message"]
    assert by_id[("ZY-1", 8)]["code"] == "invalid_request"  # the same stay id twice in one batch
    assert not InpatientStay.objects.filter(stay_id__in=["ZY-2", "ZY-3"]).exists()


def test_the_api_takes_stays_from_the_hospitals_operator_only(hospital, patient, cc, users):
    operator = UserFactory(username="his-h1")
    operator.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=operator, institution=hospital)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=operator).key}")
    url = reverse("v1:settlement-stays", args=["220100", hospital.code])
    body = {"stays": [stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA)]}
    response = client.post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "duplicates": 0, "fund": "2645.50", "errors": []}
    assert client.post(url, body, format="json").json()["duplicates"] == 1
    listed = client.get(url).json()["results"]
    assert [(r["stay_id"], r["fund"]) for r in listed] == [("ZY-1", "2645.50")]
    # another hospital's URL: not found (it cannot learn whether the hospital exists)
    other = reverse("v1:settlement-stays", args=["220100", cc["tertiary2"].code])
    assert client.post(other, body, format="json").status_code == 404


def _stay_file(person) -> bytes:
    """One row per line, the stay's columns repeated (Chinese headers)."""
    header = "住院号,身份证号,入院日期,出院日期,出院诊断编码,费用日期,项目编码,费用类别,数量,金额,甲乙丙类\n"
    rows = [f"ZY-F1,{person.id_number},2021-06-10,2021-06-12,K35.8,2021-06-{10 + i},BED01,bed,1,40.00,甲\n"
            for i in range(2)]
    rows.append(f"ZY-F1,{person.id_number},2021-06-10,2021-06-12,K35.8,2021-06-10,TRT01,treatment,1,2000.00,甲\n")
    rows.append(f"ZY-F2,{person.id_number},2021-06-20,2021-06-22,K35.8,2021-06-20,BED01,bed,1,40.00,X\n")
    return (header + "".join(rows)).encode()


def test_the_upload_checks_then_imports_a_file_of_stay_lines(hospital, patient, users):
    operator = UserFactory(username="his-h1")
    operator.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=operator, institution=hospital)
    checked = pool_upload_check(acting_user=operator, kind=UploadKind.STAYS, institution=hospital, year=None,
                                filename="stays.csv", content=_stay_file(patient))
    assert checked.preview["created"] == 1 and not InpatientStay.objects.exists()  # the check writes nothing
    assert [(e["stay_id"], e["row"], e["field"]) for e in checked.preview["errors"]] == [("ZY-F2", 4, "line_class")]
    # the preview page names the stays and the refused stay's number, in Chinese
    from django.test import Client

    browser = Client()
    browser.force_login(operator)
    page = browser.get(reverse("admin:settlement_poolupload_change", args=[checked.pk])).content.decode()
    assert "共 2 次住院、4 行费用明细" in page and "ZY-F2" in page and "住院号" in page
    done = pool_upload_confirm(acting_user=operator, upload=checked)
    assert done.result["created"] == 1
    s = InpatientStay.objects.get()
    # A = 80 + 2 000 = 2 080 → 0.55 × (2 080 − 1 200) = 484.00
    assert (s.stay_id, s.class_a, s.fund) == ("ZY-F1", Decimal("2080.00"), Decimal("484.00"))
    # the same file through the API's file endpoint: every stay already received
    client = APIClient()
    client.force_authenticate(operator)
    response = client.post(reverse("v1:settlement-stays-file", args=["220100", hospital.code]),
                           {"file": SimpleUploadedFile("stays.csv", _stay_file(patient))}, format="multipart")
    assert response.status_code == 200, response.content
    assert (response.json()["duplicates"], [e["row"] for e in response.json()["errors"]]) == (1, [4])


def test_a_large_stay_file_reports_its_progress_stay_batch_by_stay_batch(hospital, patient, users, monkeypatch):
    """A stays file checked or imported by a background job moves its progress bar (issue #14
    item 3) after each batch of stays, counted in the file's rows."""
    from claims.settlement.services import uploads

    operator = UserFactory(username="his-h2")
    operator.groups.add(Group.objects.get(name="institution_operator"))
    InstitutionOperator.objects.create(user=operator, institution=hospital)
    monkeypatch.setattr(uploads, "MAX_STAYS", 1)  # a batch per stay: ZY-F1 has rows 1-3, ZY-F2 row 4
    checked = pool_upload_check(acting_user=operator, kind=UploadKind.STAYS, institution=hospital, year=None,
                                filename="stays.csv", content=_stay_file(patient))
    seen = []
    done = pool_upload_confirm(acting_user=operator, upload=checked, progress=lambda n, total: seen.append((n, total)))
    assert seen == [(3, 4), (4, 4)]
    assert done.result["created"] == 1


def _run_month(changchun, month, user, capture):
    with capture(execute=True):
        run = settlement_run_start(acting_user=user, region=changchun, kind=RunKind.FEE_FOR_SERVICE, year=2021,
                                   month=month)
    run.refresh_from_db()
    return run


def test_stays_are_paid_on_the_hospitals_statement_of_their_discharge_month(
        hospital, patient, users, changchun, django_capture_on_commit_callbacks):
    receive(hospital, [stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA),
                       stay("ZY-2", patient, D(2021, 6, 28), 4, treat=(0,))])  # discharged 07-02: July's
    run = _run_month(changchun, 6, users["starter"], django_capture_on_commit_callbacks)
    june = FeeStatement.objects.get(run=run)
    assert (june.institution, june.benefit, june.visits_count, june.payable) == (hospital, "inpatient", 1,
                                                                                 Decimal("2645.50"))
    assert list(june.stays.values_list("stay_id", flat=True)) == ["ZY-1"]
    fee_statement_release(acting_user=users["fin"], statement=june)
    order = PaymentOrder.objects.get(source_kind="fee_statement", source_id=june.pk)
    assert (order.payee_institution, order.amount) == (hospital, Decimal("2645.50"))
    july = FeeStatement.objects.get(run=_run_month(changchun, 7, users["starter"], django_capture_on_commit_callbacks))
    assert list(july.stays.values_list("stay_id", flat=True)) == ["ZY-2"]


def test_bed_holding_on_a_direct_stay_is_recovered_from_the_hospital_and_offset(
        hospital, patient, users, changchun, django_capture_on_commit_callbacks):
    """Days 3–5 (06-13 … 06-15) hold only bed and nursing lines: bed-holding. Re-quoted without them
    (3 × 70 = 210 off class A): eligible 5 800, fund 0.55 × 4 600 = 2 530.00. The hospital was paid
    2 645.50: it owes the fund 115.50, and refunds the person 3 614.50 − (6 050 − 2 530) = 94.50.
    The order is offset against the hospital's next payment order (July's statement)."""
    receive(hospital, [stay("ZY-1", patient, D(2021, 6, 10), 8, extra=EXTRA)])
    InpatientStay.objects.update(received_at=timezone.make_aware(dt.datetime(2021, 6, 18, 10)))
    june = FeeStatement.objects.get(run=_run_month(changchun, 6, users["starter"], django_capture_on_commit_callbacks))
    fee_statement_release(acting_user=users["fin"], statement=june)

    run = nightly_check(region="220100", day=D(2021, 6, 18))
    assert run.findings_new >= 1
    finding = Finding.objects.get(rule="bed_holding")
    assert finding.institution == hospital and finding.settlement_refs == [f"ip:{InpatientStay.objects.get().pk}"]
    assert nightly_check(region="220100", day=D(2021, 6, 18)).findings_new == 0  # idempotent
    finding_confirm(acting_user=users["sup1"], finding=finding)
    finding_approve(acting_user=users["sup2"], finding=finding)
    finding.refresh_from_db()
    orders = {o.kind: o for o in recovery_order_create(acting_user=users["sup1"], finding=finding)}
    recovery, refund = orders["recovery"], orders["refund"]
    assert (recovery.amount, recovery.debtor_institution, recovery.debtor_person) == (Decimal("115.50"), hospital, None)
    assert (refund.amount, refund.debtor_institution, refund.creditor_person) == (Decimal("94.50"), hospital, patient)
    assert (recovery.fund_paid, recovery.fund_due) == (Decimal("2645.50"), Decimal("2530.00"))
    # the ledger: the stay's entry reversed and the corrected one posted; the year's fund is 2 530.00
    year = LedgerAccount.objects.get(person=patient, year=2021, benefit="", item="")
    assert year.cap_fund == Decimal("2530.00")
    # a later stay reads the corrected year-to-date figures: A = 3 × 70 + 2 000 = 2 210,
    # fund 0.55 × (2 210 − 1 200) = 555.50 on top of 2 530.00
    receive(hospital, [stay("ZY-2", patient, D(2021, 7, 1), 3, treat=(0, 1))])
    year.refresh_from_db()
    assert year.cap_fund == Decimal("3085.50")

    july = FeeStatement.objects.get(run=_run_month(changchun, 7, users["starter"], django_capture_on_commit_callbacks))
    assert july.payable == Decimal("555.50")
    fee_statement_release(acting_user=users["fin"], statement=july)
    order = PaymentOrder.objects.get(source_kind="fee_statement", source_id=july.pk)
    assert order.amount == Decimal("440.00")  # 555.50 − 115.50
    recovery.refresh_from_db()
    assert (recovery.outstanding, recovery.state) == (Decimal("0.00"), "settled")
    assert [o.amount for o in order.recovery_offsets.all()] == [Decimal("115.50")]
    assert RecoveryOrder.objects.filter(kind="refund").get().debtor_institution == hospital


def test_the_nightly_rules_read_direct_stays_split_admission_and_duplicate_bed(hospital, patient, users):
    """Direct stays are direct inpatient settlements of their hospital for the review rules: a
    readmission for the same ICD-10 category 5 days after discharge is a split admission; two beds
    billed on one day a duplicate bed charge."""
    double_bed = {"date": "2021-06-21", "item": "BED01", "kind": "bed", "quantity": 1, "amount": "40.00", "class": "A"}
    receive(hospital, [stay("ZY-A", patient, D(2021, 6, 1), 3, treat=(0, 1, 2), diagnosis="K35.8"),
                       stay("ZY-B", patient, D(2021, 6, 9), 3, treat=(0, 1, 2), diagnosis="K35.2",
                            extra=(double_bed | {"date": "2021-06-10"},))])
    InpatientStay.objects.update(received_at=timezone.make_aware(dt.datetime(2021, 6, 12, 10)))
    nightly_check(region="220100", day=D(2021, 6, 12))
    a, b = (f"ip:{pk}" for pk in InpatientStay.objects.order_by("admitted").values_list("pk", flat=True))
    found = {(f.rule, tuple(f.settlement_refs)) for f in Finding.objects.all()}
    assert ("split_admission", tuple(sorted([a, b]))) in found
    assert ("duplicate_charge", (b,)) in found
    split = Finding.objects.get(rule="split_admission")
    assert {(s.kind, s.via, s.institution_id) for s in split.settlements.all()} == {
        ("inpatient_stay", "direct", hospital.pk)}


def test_a_split_admission_of_direct_stays_costs_the_fund_nothing_but_the_person_a_deductible(
        hospital, patient, users):
    """A: 3 × 70 + 1 000 = 1 210 → fund 0.55 × 10 = 5.50; B: 3 × 70 + 2 000 = 2 210 → fund
    0.55 × 1 010 = 555.50; the person paid 1 204.50 + 1 654.50 = 2 859.00. Merged (one deductible):
    3 420 → fund 0.55 × 2 220 = 1 221.00, person 2 199.00. The fund paid less than it should have:
    no recovery; the hospital refunds the person 660.00."""
    receive(hospital, [stay("ZY-A", patient, D(2021, 6, 1), 3, treat=(0,)),
                       stay("ZY-B", patient, D(2021, 6, 9), 3, treat=(0, 1))])
    InpatientStay.objects.update(received_at=timezone.make_aware(dt.datetime(2021, 6, 12, 10)))
    nightly_check(region="220100", day=D(2021, 6, 12))
    finding = Finding.objects.get(rule="split_admission")
    finding_confirm(acting_user=users["sup1"], finding=finding)
    finding_approve(acting_user=users["sup2"], finding=finding)
    finding.refresh_from_db()
    [refund] = recovery_order_create(acting_user=users["sup1"], finding=finding)
    assert (refund.kind, refund.amount, refund.debtor_institution, refund.creditor_person) == (
        "refund", Decimal("660.00"), hospital, patient)
    assert (refund.fund_paid, refund.fund_due, refund.person_paid, refund.person_due) == (
        Decimal("561.00"), Decimal("1221.00"), Decimal("2859.00"), Decimal("2199.00"))
    year = LedgerAccount.objects.get(person=patient, year=2021, benefit="", item="")
    assert year.cap_fund == Decimal("1221.00")  # both stays reversed, the merged one posted


def test_the_sample_file_of_stays_imports_with_the_command(changchun, capsys):
    """samples/settlement_stays.csv (直接结算示例丁 of the demo at 吉林大学第二医院, provincial tertiary):
    A = 3 × 990 = 2 970, B = 400 (co-pay 40), C = 150; eligible 3 330; fund 0.55 × (3 330 − 1 200) = 1 171.50."""
    import json

    from django.core.management import call_command

    from enrollment.models import CoveragePeriod, Person

    person = Person.objects.create(id_number="220102196602147146", name="直接结算示例丁", region=changchun)
    CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1), covered_to=D(2021, 12, 31))
    call_command("settlement_import", "stays", "220100", "CC-H-002", "samples/settlement_stays.csv")
    out = json.loads(capsys.readouterr().out)
    assert out == {"created": 1, "duplicates": 0, "fund": "1171.50", "errors": []}
    s = InpatientStay.objects.get()
    assert (s.class_a, s.class_b, s.class_c, s.fund) == (Decimal("2970.00"), Decimal("400.00"), Decimal("150.00"),
                                                        Decimal("1171.50"))
