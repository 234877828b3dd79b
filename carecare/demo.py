"""Long-term care demo data (local demo only): two designated care homes with residents of every
rule of DOMAIN.md §7, a care-home operator account, June 2021's claim of 吉林省颐乐康复中心
received and waiting to be checked, and the sample file carecare/samples/care_claim_sample.csv
(祥祉园's June claim) to upload in the admin. Idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from enrollment.idnumber import make_id_number
from enrollment.models import CoveragePeriod, Person
from medins.models import Institution, Region

from .models import AbsenceReason, Assessment, AssessmentTransition, CareClaim, CareStay, StayAbsence

D = dt.date
JUNE = D(2021, 6, 1)
HOME, SAMPLE_HOME = "CC-L-001", "CC-L-002"
OPERATOR = "care_home"  # the demo care home's operator (password: the demo password)
SAMPLE = Path(__file__).resolve().parent / "samples" / "care_claim_sample.csv"
BANK = {HOME: ("6222020200100001001", "吉林省颐乐康复中心"), SAMPLE_HOME: ("6222020200100002002", "祥祉园养老服务有限公司")}

# key, home, birth, sequence, name, Barthel score (None: no assessment), what it shows
RESIDENTS = [
    ("cc1", HOME, D(1943, 3, 2), 611, "关玉兰", 35, "severe: 80 % of min(cost, 107) a day"),
    ("cc2", HOME, D(1941, 8, 9), 612, "于长海", 55, "moderate: 56 %"),
    ("cc3", HOME, D(1934, 2, 20), 613, "姜淑珍", 70, "aged 87, no grade: bed fee 50 %, 25 a day on average"),
    ("cc4", HOME, D(1929, 11, 1), 614, "孟庆林", None, "aged 91, no assessment: 56 %"),
    ("cc5", HOME, D(1931, 6, 16), 615, "邢桂芝", 70, "90th birthday on 16 June: the month splits"),
    ("cc6", HOME, D(1944, 4, 4), 616, "鲁德厚", 35, "in hospital 10–14 June: those days refused"),
    ("xz1", SAMPLE_HOME, D(1938, 1, 12), 621, "闫秀英", 40, "severe"),
    ("xz2", SAMPLE_HOME, D(1935, 7, 30), 622, "薛宝山", 100, "aged 85, no grade: bed fee"),
    ("xz3", SAMPLE_HOME, D(1950, 9, 9), 623, "柏春华", 60, "moderate; admitted on 11 June: 1–10 refused"),
]
COSTS = {"bed": "40.00", "nursing": "60.00", "supplies": "15.00", "other": "0.00"}


def resident_id(key: str) -> str:
    row = next(r for r in RESIDENTS if r[0] == key)
    return make_id_number("220102", row[2], row[3])


def _claim_days(first=1, last=30, **costs):
    return [{"date": D(2021, 6, d).isoformat(), **COSTS, **costs} for d in range(first, last + 1)]


def sample_rows() -> list[list[str]]:
    """祥祉园's June 2021 claim, one row per resident and day, Chinese column headers."""
    rows = [["身份证号", "姓名", "日期", "床位费", "护理费", "护理耗材费", "其他费用"]]
    names = {r[0]: r[4] for r in RESIDENTS}
    for key in ("xz1", "xz2", "xz3"):
        for day in _claim_days(bed="50.00" if key == "xz2" else "40.00"):
            rows.append([resident_id(key), names[key], day["date"], day["bed"], day["nursing"], day["supplies"],
                         "12.50" if day["date"].endswith("-15") else day["other"]])
    return rows


def sample_csv() -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(sample_rows())
    return out.getvalue()


@transaction.atomic
def care_demo_ensure(*, acting_user) -> dict:
    region = Region.objects.get(code="220100")
    homes = {code: Institution.objects.get(region=region, code=code) for code in (HOME, SAMPLE_HOME)}
    for code, home in homes.items():  # a bank account to pay the home (fields of h-ref's Institution)
        if hasattr(home, "bank_account") and not getattr(home, "bank_account", ""):
            home.bank_account, home.bank_account_name = BANK[code]
            home.save(update_fields=["bank_account", "bank_account_name"])
    created = 0
    for key, code, _birth, _seq, name, score, _what in RESIDENTS:
        person = Person.objects.filter(id_number=resident_id(key)).first()
        if person is not None:
            continue
        person = Person(id_number=resident_id(key), name=name, region=region, community="南关区永吉街道")
        person.save()
        created += 1
        CoveragePeriod.objects.create(person=person, benefit_year=2021, covered_from=D(2021, 1, 1),
                                      covered_to=D(2021, 12, 31))
        admitted = D(2021, 6, 11) if key == "xz3" else D(2021, 3, 1)
        stay = CareStay.objects.create(person=person, care_home=homes[code], admitted_on=admitted, created_by=acting_user)
        if key == "cc6":
            StayAbsence.objects.create(stay=stay, from_date=D(2021, 6, 10), to_date=D(2021, 6, 15),
                                       reason=AbsenceReason.HOSPITAL, created_by=acting_user)
        if score is not None:
            grade = "severe" if score <= 40 else "moderate" if score <= 60 else "none"
            a = Assessment.objects.create(
                person=person, requested_by="care_home", care_home=homes[code], requested_on=D(2021, 1, 4),
                requested_by_user=acting_user, state="approved", scale_version="barthel_changchun_2015", score=score,
                grade=grade, assessed_on=D(2021, 1, 8), approved_on=D(2021, 1, 15), valid_from=D(2021, 1, 15),
                valid_to=D(2023, 1, 15), policy_version="220100-2021")
            AssessmentTransition.objects.create(assessment=a, from_state="", to_state="approved", actor=acting_user,
                                                reason="演示数据")
    operator = _operator(homes[HOME])
    claim = None
    if not CareClaim.objects.filter(care_home=homes[HOME], month=JUNE).exists() and operator is not None:
        from .services.claims import care_claim_receive

        residents = [{"id_number": resident_id(k), "days": _claim_days()} for k in ("cc1", "cc2", "cc3", "cc4", "cc5", "cc6")]
        residents[2]["days"] = _claim_days(bed="60.00", nursing="45.00", supplies="5.00")
        claim, _outcome = care_claim_receive(acting_user=operator, care_home=homes[HOME], month=JUNE, residents=residents)
    return {"residents_created": created, "claim": claim.number if claim else "kept"}


def _operator(home):
    """The demo user `care_home` of the institution_operator role, operating 吉林省颐乐康复中心."""
    from claims.settlement.models import InstitutionOperator
    from medins.demo import DEMO_PASSWORD

    User = get_user_model()
    group = Group.objects.filter(name="institution_operator").first()
    if group is None:
        return None
    user, created = User.objects.get_or_create(username=OPERATOR, defaults={"is_staff": True})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    user.groups.add(group)
    InstitutionOperator.objects.get_or_create(user=user, defaults={"institution": home})
    return user
