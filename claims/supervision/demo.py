"""Fund-supervision demo data (local demo only): three paid inpatient cases of two Changchun
residents at 吉林大学第一医院 with their itemised lines and diagnoses, found by the nightly job of
2021-07-01 — a split admission (I63 readmitted 5 days after discharge), a bed-holding stay (two
days with only bed and nursing lines) and a duplicate bed charge — and a grey-listed person (direct
settlement suspended for six months). Idempotent: the cases are keyed by their invoice number,
the findings by rule and settlements.

Direct inpatient settlement (住院直接结算): 吉林大学第二医院 sends two discharged stays of 直接结算示例丁
through the hospitals' way in (claims.settlement.services.stays), received on 2021-07-01; the
June one has three days with only bed, nursing and meal lines, so the nightly job finds a
bed-holding finding whose recovery is owed by the hospital (paid directly) and is offset on its
next payment order, once finance releases its 2021-06 fee-for-service statement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from claims.models import Case, CaseTransition, CaseType, Invoice
from enrollment.idnumber import make_id_number
from enrollment.models import CoveragePeriod, Person
from medins.models import Institution, Region

from .models import GreyListEntry, SettlementDetail, SettlementLine

D = dt.date
DAY = D(2021, 7, 1)  # the day the demo's cases were approved: run the nightly job for it
HOSPITAL = "CC-H-001"
# key, birth, sequence, name
PERSONS = [("fs1", D(1958, 4, 12), 711, "监管示例甲"), ("fs2", D(1962, 9, 3), 712, "监管示例乙"),
           ("fs3", D(1975, 1, 20), 713, "灰名单示例丙"), ("fs4", D(1966, 2, 14), 714, "直接结算示例丁")]
# invoice, person, admitted, discharged, diagnosis, approved on, lines: day offset → [(item, kind, qty, amount)]
TREAT = [("TRT-001", "treatment", 1, "320.00")]
BED = [("BED-001", "bed", 1, "60.00"), ("NUR-001", "nursing", 1, "30.00")]
CASES = [
    ("JG-DEMO-1", "fs1", D(2021, 6, 1), D(2021, 6, 8), "I63.9", D(2021, 6, 10), {d: BED + TREAT for d in range(7)}),
    ("JG-DEMO-2", "fs1", D(2021, 6, 13), D(2021, 6, 20), "I63.8", DAY, {d: BED + TREAT for d in range(7)}),
    # bed-holding: days 3–5 only bed and nursing; day 1 billed two beds (duplicate bed charge)
    ("JG-DEMO-3", "fs2", D(2021, 6, 20), D(2021, 6, 28), "K35.8", DAY,
     {0: BED + TREAT, 1: [("BED-001", "bed", 2, "120.00")] + TREAT, 2: BED + TREAT, 3: BED, 4: BED, 5: BED,
      6: BED + TREAT, 7: BED + TREAT}),
]


DIRECT_HOSPITAL = "CC-H-002"
DIRECT_BANK = ("中国工商银行长春分行", "4200201909000012345")


def _direct_lines(admitted: dt.date, days: int, idle: tuple = ()) -> list[dict]:
    """Bed and nursing every day (class A), a treatment (class A) and a drug (class B) on the
    treated days, meals only on the `idle` days."""
    out = []
    for i in range(days):
        day = (admitted + dt.timedelta(days=i)).isoformat()
        out += [{"date": day, "item": "BED-001", "kind": "bed", "quantity": 1, "amount": "60.00", "class": "A"},
                {"date": day, "item": "NUR-001", "kind": "nursing", "quantity": 1, "amount": "30.00", "class": "A"}]
        if i in idle:
            out.append({"date": day, "item": "MEAL-01", "kind": "meal", "quantity": 1, "amount": "25.00", "class": "A"})
        else:
            out += [{"date": day, "item": "TRT-001", "kind": "treatment", "quantity": 1, "amount": "900.00", "class": "A"},
                    {"date": day, "item": "DRG-001", "kind": "drug", "quantity": 1, "amount": "200.00", "class": "B"}]
    return out


# stay id, admitted, days, diagnosis, idle day offsets
DIRECT_STAYS = [("ZY-DEMO-1", D(2021, 3, 2), 4, "J18.9", ()),
                ("ZY-DEMO-2", D(2021, 6, 20), 8, "K35.8", (3, 4, 5))]


def _direct_stays(acting_user, person) -> int:
    from claims.settlement.models import InpatientStay
    from claims.settlement.services.stays import stays_receive

    hospital = Institution.objects.get(region__code="220100", code=DIRECT_HOSPITAL)
    if not hospital.bank_account:
        hospital.bank_name, hospital.bank_account = DIRECT_BANK
        hospital.bank_account_name = hospital.name
        hospital.save(update_fields=["bank_name", "bank_account", "bank_account_name"])
    stays = [{"stay_id": sid, "id_number": person.id_number, "admitted": admitted.isoformat(),
              "discharged": (admitted + dt.timedelta(days=days)).isoformat(), "diagnosis": diagnosis,
              "lines": _direct_lines(admitted, days, idle)} for sid, admitted, days, diagnosis, idle in DIRECT_STAYS]
    result = stays_receive(acting_user=acting_user, institution=hospital, stays=stays)
    if result.errors:
        raise RuntimeError(f"demo stays refused: {result.errors}")
    if result.created:  # received on the demo's day, so that night's job reads them
        InpatientStay.objects.filter(institution=hospital, stay_id__in=[s[0] for s in DIRECT_STAYS]).update(
            received_at=timezone.make_aware(dt.datetime.combine(DAY, dt.time(9))))
    return result.created


def person_id_number(key: str) -> str:
    row = next(p for p in PERSONS if p[0] == key)
    return make_id_number("220102", row[1], row[2])


@transaction.atomic
def supervision_demo_ensure(*, acting_user) -> dict:
    from .services import nightly_check

    region = Region.objects.get(code="220100")
    hospital = Institution.objects.get(region=region, code=HOSPITAL)
    case_type = CaseType.objects.filter(region=region, benefit="inpatient").order_by("number").first()
    persons = {}
    for key, _birth, _seq, name in PERSONS:
        person, created = Person.objects.get_or_create(id_number=person_id_number(key),
                                                       defaults={"name": name, "region": region})
        if created:
            CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                          covered_to=D(2021, 12, 31))
        persons[key] = person
    created_cases = 0
    for number, key, admitted, discharged, diagnosis, approved_on, lines in CASES:
        if Invoice.objects.filter(issuer=hospital.name, number=number).exists():
            continue
        total = sum((Decimal(a) for day in lines.values() for _i, _k, _q, a in day), Decimal(0))
        fund = (total * Decimal("0.70")).quantize(Decimal("0.01"))
        case = Case.objects.create(case_type=case_type, person=persons[key], state="paid", service_from=admitted,
                                   service_to=discharged, institution=hospital, institution_level=hospital.level,
                                   bank_account="6222020200199990001", received_by=acting_user, fund_amount=fund,
                                   payable_amount=fund, policy_version="220100-2021",
                                   note="基金监管演示数据（直接写入为已支付）", state_changed_at=timezone.now())
        Invoice.objects.create(case=case, issuer=hospital.name, number=number, issued_on=discharged, class_a=total)
        t = CaseTransition.objects.create(case=case, from_state="calculated", to_state="approved", actor=acting_user,
                                          reason="演示数据")
        at = timezone.make_aware(dt.datetime.combine(approved_on, dt.time(10)))
        CaseTransition.objects.filter(pk=t.pk).update(at=at)
        SettlementDetail.objects.create(kind="case", object_id=case.pk, diagnosis=diagnosis)
        SettlementLine.objects.bulk_create([
            SettlementLine(kind="case", object_id=case.pk, date=admitted + dt.timedelta(days=offset), item=item,
                           line_kind=kind, quantity=qty, amount=Decimal(amount))
            for offset, day_lines in lines.items() for item, kind, qty, amount in day_lines])
        created_cases += 1
    if not GreyListEntry.objects.filter(person=persons["fs3"]).exists():
        GreyListEntry.objects.create(person=persons["fs3"], from_date=D(2021, 6, 1), to_date=D(2021, 11, 30),
                                     reason="出借医保凭证供他人冒名就医，暂停直接结算6个月（演示）", created_by=acting_user)
    stays_created = _direct_stays(acting_user, persons["fs4"])
    run = nightly_check(region="220100", day=DAY)
    return {"cases_created": created_cases, "stays_created": stays_created, "findings_new": run.findings_new,
            "findings_known": run.findings_known}
