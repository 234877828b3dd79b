"""Demo insured persons and the matching sample tax bureau file (local demo only)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from medins.models import Region

from .idnumber import make_id_number
from .models import Person, School, SchoolKind
from .services import person_register

SCHOOLS = [
    # code, region, name, kind
    ("220100-S001", "220100", "长春市第二实验小学", SchoolKind.PRIMARY_SECONDARY),
    ("220100-U001", "220100", "吉林大学", SchoolKind.COLLEGE),
    ("370100-U001", "370100", "山东大学", SchoolKind.COLLEGE),
]

# key, region, area code, birth date, sequence, name, community, school code, assistance
PERSONS = [
    ("zhang_wei", "220100", "220102", dt.date(1985, 4, 12), 131, "张伟", "南关区永吉街道", None, ""),
    ("wang_fang", "220100", "220102", dt.date(1990, 1, 31), 242, "王芳", "南关区桃源街道", None, "minimum_living"),
    ("li_na", "220100", "220104", dt.date(2008, 6, 3), 122, "李娜", "朝阳区红旗街道", None, ""),
    ("liu_yang", "220100", "220104", dt.date(2012, 9, 1), 315, "刘洋", "朝阳区桂林街道", "220100-S001", ""),
    ("chen_jie", "220100", "220105", dt.date(1962, 11, 20), 411, "陈杰", "二道区东站街道", None, "registered_poor"),
    ("yang_xin", "220100", "220105", dt.date(2020, 10, 20), 102, "杨鑫", "二道区东站街道", None, ""),
    ("zhao_min", "220100", "220106", dt.date(2021, 2, 1), 204, "赵敏", "绿园区正阳街道", None, ""),
    ("huang_lei", "220100", "220106", dt.date(1978, 7, 7), 517, "黄磊", "绿园区青年路街道", None, "extreme_poverty"),
    ("zhou_tao", "220100", "220102", dt.date(2010, 3, 14), 623, "周涛", "南关区自由大路街道", None, ""),
    ("wu_qiang", "220100", "220104", dt.date(1995, 12, 25), 731, "吴强", "朝阳区清和街道", None, ""),
    ("sun_li", "220100", "220102", dt.date(2002, 5, 18), 842, "孙丽", "南关区曙光街道", "220100-U001", ""),
    ("ma_jun", "370100", "370102", dt.date(2001, 8, 8), 951, "马骏", "历下区文东街道", "370100-U001", ""),
]

# receipt, person key, paid on, amount, newborn registration — what each row demonstrates
# The window payments are in the October 2020 window: they buy 2021 and are priced by the 2021
# policy (DOMAIN §1); the shipped policies are 2021's, so a 2021-window payment (buying 2022) is
# refused until a 2022 policy is loaded.
SAMPLE_PAYMENTS = [
    ("TAX2021000001", "zhang_wei", dt.date(2021, 3, 15), "320.00", False),   # late: covered from 2021-06-15
    ("TAX2021000002", "wang_fang", dt.date(2021, 1, 31), "320.00", False),   # late, month end: from 2021-04-30
    ("TAX2021000003", "li_na", dt.date(2021, 3, 31), "200.00", False),       # minor, late: from 2021-06-30
    ("TAX2021000004", "liu_yang", dt.date(2020, 10, 15), "200.00", False),   # student, 2020 window: all of 2021
    ("TAX2021000005", "chen_jie", dt.date(2020, 11, 20), "320.00", False),   # 2020 window: all of 2021
    ("TAX2021000006", "yang_xin", dt.date(2020, 11, 30), "200.00", True),    # newborn in window: birth – 2021-12-31
    ("TAX2021000007", "zhao_min", dt.date(2021, 3, 1), "200.00", True),      # newborn within 90 days: from birth
    ("TAX2021000008", "huang_lei", dt.date(2020, 12, 1), "320.00", False),   # 2020 window: all of 2021
    ("TAX2021000009", "zhou_tao", dt.date(2020, 10, 8), "200.00", False),    # minor, 2020 window
    ("TAX2021000010", "wu_qiang", dt.date(2021, 5, 20), "320.00", False),    # late: from 2021-08-20
]
BAD_ROW = ("TAX2021000011", "孙丽", "wrong check digit", dt.date(2021, 4, 2), "320.00", False)


def demo_id_number(key: str) -> str:
    row = next(p for p in PERSONS if p[0] == key)
    return make_id_number(row[2], row[3], row[4])


def sample_rows() -> list[list[str]]:
    """Header plus rows of the sample tax file: ten good payments and one with a bad check digit."""
    names = {p[0]: p[5] for p in PERSONS}
    rows = [["完税凭证号", "身份证号码", "姓名", "缴费日期", "缴费金额", "新生儿登记"]]
    for receipt, key, paid, amount, newborn in SAMPLE_PAYMENTS:
        rows.append([receipt, demo_id_number(key), names[key], paid.isoformat(), amount, "是" if newborn else "否"])
    good = demo_id_number("sun_li")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows.insert(6, [BAD_ROW[0], bad, BAD_ROW[1], BAD_ROW[3].isoformat(), BAD_ROW[4], "否"])
    return rows


@transaction.atomic
def demo_persons_ensure(*, acting_user=None) -> dict[str, int]:
    """Create the demo schools and persons that are missing (idempotent). Needs the regions loaded."""
    regions = {r.code: r for r in Region.objects.filter(code__in={p[1] for p in PERSONS})}
    schools = {}
    for code, region, name, kind in SCHOOLS:
        schools[code], _created = School.objects.get_or_create(code=code, defaults={"region": regions[region], "name": name,
                                                                                     "kind": kind})
    existing = set(Person.objects.filter(id_number__in=[demo_id_number(p[0]) for p in PERSONS]).values_list("id_number", flat=True))
    created = 0
    for key, region, _area, _birth, _seq, name, community, school, assistance in PERSONS:
        number = demo_id_number(key)
        if number in existing:
            continue
        person_register(acting_user=acting_user, id_number=number, name=name, region=regions[region], community=community,
                        phone="1390431" + number[-4:], bank_account="6222020" + number[6:14] + number[-4:],
                        school=schools.get(school), assistance=assistance)
        created += 1
    return {"created": created, "existing": len(existing)}


def write_sample_files(folder) -> None:
    """(Re)write samples/tax_payments_sample.csv and .xlsx from `sample_rows()`."""
    import csv
    from pathlib import Path

    from openpyxl import Workbook

    folder = Path(folder)
    rows = sample_rows()
    with open(folder / "tax_payments_sample.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    book = Workbook()
    sheet = book.active
    sheet.title = "缴费明细"
    for row in rows:
        sheet.append(row)  # every cell text: an 18-digit ID number must never become a float
    for cell in sheet["B"]:
        cell.number_format = "@"
    book.save(folder / "tax_payments_sample.xlsx")
