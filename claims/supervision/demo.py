"""Fund-supervision demo data (local demo only): three paid inpatient cases of two Changchun
residents at 吉林大学第一医院 with their itemised lines and diagnoses, found by the nightly job of
2021-07-01 — a split admission (I63 readmitted 5 days after discharge), a bed-holding stay (two
days with only bed and nursing lines) and a duplicate bed charge — and a grey-listed person (direct
settlement suspended for six months). Idempotent: the cases are keyed by their invoice number,
the findings by rule and settlements."""

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
           ("fs3", D(1975, 1, 20), 713, "灰名单示例丙")]
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
    run = nightly_check(region="220100", day=DAY)
    return {"cases_created": created_cases, "findings_new": run.findings_new, "findings_known": run.findings_known}
