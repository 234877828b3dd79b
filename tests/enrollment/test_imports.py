"""DOMAIN §1 / issue #3 item 4: tax bureau payment files — idempotent by receipt number, bad rows
reported with their field and never blocking the good ones."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from enrollment.demo import demo_id_number, demo_persons_ensure
from enrollment.imports import FileError
from enrollment.models import CoveragePeriod, ImportStatus, Payment, PaymentImport, Person
from enrollment.services import payment_file_import, payment_import_confirm, payment_import_prepare

SAMPLES = Path(__file__).resolve().parents[2] / "enrollment" / "samples"
HEADER = "receipt_number,id_number,name,paid_on,amount,newborn_registration\n"


@pytest.fixture
def demo(reference_data):
    demo_persons_ensure()


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_sample_file_imports_ten_rows_and_reports_the_bad_one(demo, clerk):
    """Issue #3: the shipped sample: ten good rows, one with a bad ID check digit."""
    content = (SAMPLES / "tax_payments_sample.csv").read_bytes()

    payment_import, report = payment_file_import(acting_user=clerk, filename="tax_payments_sample.csv", content=content)

    assert (report.total, report.ok, report.duplicates) == (11, 10, 0)
    assert [(e["row"], e["field"], e["column"]) for e in report.errors] == [(7, "id_number", "身份证号码")]
    assert "check digit" in report.errors[0]["message"]
    assert "*" in report.errors[0]["id_number"]  # masked in the stored report
    assert Payment.objects.count() == 10
    assert payment_import.status == ImportStatus.DONE and payment_import.imported_rows == 10
    assert Payment.history.filter(history_user=clerk).count() == 10


def test_importing_the_same_file_twice_changes_nothing(demo):
    """DOMAIN §1: importing the same file twice must change nothing."""
    content = (SAMPLES / "tax_payments_sample.csv").read_bytes()
    payment_file_import(acting_user=None, filename="a.csv", content=content)
    before = (Payment.objects.count(), CoveragePeriod.objects.count(), Payment.history.count())

    _imp, report = payment_file_import(acting_user=None, filename="a.csv", content=content)

    assert (report.ok, report.duplicates, len(report.errors)) == (0, 10, 1)
    assert (Payment.objects.count(), CoveragePeriod.objects.count(), Payment.history.count()) == before


def test_xlsx_sample_imports_like_the_csv(demo):
    content = (SAMPLES / "tax_payments_sample.xlsx").read_bytes()

    _imp, report = payment_file_import(acting_user=None, filename="tax_payments_sample.xlsx", content=content)

    assert (report.ok, len(report.errors)) == (10, 1)


def test_each_payment_produces_the_previewed_periods(demo):
    """Issue #3: each payment produces the coverage periods the preview computed (sample rows)."""
    payment_file_import(acting_user=None, filename="s.csv", content=(SAMPLES / "tax_payments_sample.csv").read_bytes())

    def periods(key):
        person = Person.objects.get(id_number=demo_id_number(key))
        return list(person.coverage_periods.order_by("covered_from").values_list("covered_from", "covered_to", "waiting"))

    D = dt.date
    assert periods("zhang_wei") == [(D(2021, 6, 15), D(2021, 12, 31), True)]
    assert periods("wang_fang") == [(D(2021, 4, 30), D(2021, 12, 31), True)]
    assert periods("liu_yang") == [(D(2021, 1, 1), D(2021, 12, 31), False)]  # paid in the 2020 window
    assert periods("yang_xin") == [(D(2020, 10, 20), D(2020, 12, 31), False), (D(2021, 1, 1), D(2021, 12, 31), False)]
    assert periods("zhao_min") == [(D(2021, 2, 1), D(2021, 12, 31), False)]


def test_mixed_file_saves_good_rows_and_reports_bad_ones_by_field(demo):
    """Issue #3: a bad row never blocks or loses the good ones; each problem names its field."""
    zhang, wang, li = (demo_id_number(k) for k in ("zhang_wei", "wang_fang", "li_na"))
    jinan = demo_id_number("ma_jun")
    content = csv_bytes(
        f"G1,{zhang},张伟,2021-03-15,320.00,",            # good
        f"B1,{wang},王芳,2021-02-30,320.00,",             # impossible date
        f"B2,{wang},王芳,2021-02-03,abc,",                # amount not a number
        f"B3,{wang},王五,2021-02-03,320.00,",             # name differs
        "B4,110105194912310021,某人,2021-02-03,320.00,",  # nobody registered with this (valid) ID
        f"G1,{li},李娜,2021-03-31,200.00,",               # receipt repeated in the file
        f"B5,{li},李娜,2021-03-31,320.00,",               # wrong amount for a minor
        f"B6,{jinan},马骏,2021-03-15,320.00,",            # Jinan: amounts missing
        f"B7,{zhang},张伟,2021-04-15,320.00,",            # already covered by G1
        f",{li},李娜,2021-03-31,200.00,",                 # no receipt
        f"G2,{li},李娜,2021-03-31,200.00,否",             # good
    )

    _imp, report = payment_file_import(acting_user=None, filename="mixed.csv", content=content)

    assert sorted(Payment.objects.values_list("receipt_number", flat=True)) == ["G1", "G2"]
    assert [(e["row"], e["field"]) for e in report.errors] == [
        (3, "paid_on"), (4, "amount"), (5, "name"), (6, "id_number"), (7, "receipt_number"),
        (8, "amount"), (9, "paid_on"), (10, "paid_on"), (11, "receipt_number"),
    ]
    jinan_error = next(e for e in report.errors if e["row"] == 9)
    assert (jinan_error["code"], jinan_error["parameter"]) == ("missing_parameter", "contribution.amounts")


def test_prepare_writes_no_payments_and_confirm_imports(demo, clerk):
    """Issue #3: the clerk sees every row's problem before confirming."""
    content = (SAMPLES / "tax_payments_sample.csv").read_bytes()

    payment_import, preview = payment_import_prepare(acting_user=clerk, filename="s.csv", content=content)

    assert Payment.objects.count() == 0
    assert (preview.ok, payment_import.error_rows, payment_import.status) == (10, 1, ImportStatus.PREVIEWED)
    assert preview.ok_sample[0]["amount_due"] == "320.00"

    report = payment_import_confirm(acting_user=clerk, payment_import=payment_import)

    assert report.ok == 10 and Payment.objects.count() == 10
    with pytest.raises(FileError, match="already confirmed"):
        payment_import_confirm(acting_user=clerk, payment_import=payment_import)


def test_small_chunks_give_the_same_result(demo):
    """Chunked validation: the in-file duplicate check spans chunks."""
    zhang, li = demo_id_number("zhang_wei"), demo_id_number("li_na")
    content = csv_bytes(f"G1,{zhang},张伟,2021-03-15,320.00,", f"X,{li},李娜,2021-03-31,200.00,",
                        f"G1,{li},李娜,2021-03-31,200.00,")
    payment_import = PaymentImport.objects.create(filename="c.csv", content=content)

    report = payment_import_confirm(acting_user=None, payment_import=payment_import, chunk_size=1)

    assert report.ok == 2 and [e["row"] for e in report.errors] == [4]


def test_xlsx_with_date_and_number_cells(demo):
    book = Workbook()
    sheet = book.active
    sheet.append(["完税凭证号", "身份证号码", "姓名", "缴费日期", "缴费金额"])
    sheet.append(["X1", demo_id_number("zhang_wei"), "张伟", dt.datetime(2021, 3, 15), 320])
    buffer = io.BytesIO()
    book.save(buffer)

    _imp, report = payment_file_import(acting_user=None, filename="x.xlsx", content=buffer.getvalue())

    assert report.ok == 1, report.errors
    assert Payment.objects.get().amount == Decimal("320.00")


@pytest.mark.parametrize("filename, content, message", [
    ("a.pdf", b"x", "upload a .csv or .xlsx"),
    ("a.csv", b"", "empty"),
    ("a.csv", b"receipt_number,name\nR1,x\n", "missing column"),
    ("a.xlsx", b"not a workbook", "XLSX workbook"),
])
def test_unreadable_files_are_refused_as_a_whole(demo, filename, content, message):
    with pytest.raises(FileError, match=message):
        payment_import_prepare(acting_user=None, filename=filename, content=content)


def test_gb18030_csv_is_read(demo):
    content = ("完税凭证号,身份证号码,姓名,缴费日期,缴费金额\n"
               f"G1,{demo_id_number('zhang_wei')},张伟,2021/03/15,320\n").encode("gb18030")

    _imp, report = payment_file_import(acting_user=None, filename="gbk.csv", content=content)

    assert report.ok == 1, report.errors


def test_import_command_and_demo_command_are_idempotent(reference_data, capsys):
    call_command("enrollment_demo_data")
    call_command("enrollment_demo_data")
    for _ in range(2):
        with pytest.raises(SystemExit) as exited:  # the sample's bad row: exit 1, as settlement_import
            call_command("enrollment_import_payments", str(SAMPLES / "tax_payments_sample.csv"))
        assert exited.value.code == 1

    out = capsys.readouterr().out
    assert "12 created" in out and "0 created, 12 already there" in out
    assert "11 rows: 10 imported" in out and "11 rows: 0 imported, 10 already imported, 1 with errors" in out
    assert Person.objects.count() == 12 and Payment.objects.count() == 10


def test_tax_file_prices_window_rows_by_the_year_they_buy(demo, changchun_2022):
    """DOMAIN §1: in the tax file too, a 2021-window row is priced by the 2022 policy and a 2021
    late row by 2021's; a 2020-window row by 2021's (no 2020 policy exists)."""
    from medins.models import PolicyParameter

    PolicyParameter.objects.filter(version=changchun_2022, key="contribution.amounts").update(
        value={"adult": "350", "minor": "210", "student": "210", "newborn": "210"})
    zhang, wang, wu = (demo_id_number(k) for k in ("zhang_wei", "wang_fang", "wu_qiang"))
    content = csv_bytes(
        f"W22,{zhang},张伟,2021-11-05,350.00,",   # 2021 window: 2022 amount
        f"W21,{wang},王芳,2020-11-05,320.00,",    # 2020 window: 2021 amount
        f"L21,{wu},吴强,2021-03-15,320.00,",      # late 2021: 2021 amount
        f"X22,{wu},吴强,2021-11-06,320.00,",      # 2021 window at the 2021 amount: wrong
    )

    _imp, report = payment_file_import(acting_user=None, filename="years.csv", content=content)

    assert dict(Payment.objects.values_list("receipt_number", "policy_version")) == {
        "W22": "220100-2022", "W21": "220100-2021", "L21": "220100-2021"}
    assert [(e["row"], e["field"]) for e in report.errors] == [(5, "amount")]


def test_abandoned_previews_expire_and_cannot_be_confirmed(demo, clerk):
    """Issue #14 item 8: a preview (已预览，待确认) left for more than PREVIEW_EXPIRY is expired by the
    beat job, its stored file dropped; confirming an old preview is refused even before the job."""
    import datetime as dt

    from django.utils import timezone

    from enrollment.models import ImportStatus
    from enrollment.services.tax_files import PREVIEW_EXPIRY
    from enrollment.tasks import payment_imports_expire
    from medins.schedules import SCHEDULES

    content = (SAMPLES / "tax_payments_sample.csv").read_bytes()
    old, fresh, late = (payment_import_prepare(acting_user=clerk, filename=f"{n}.csv", content=content)[0] for n in "ofl")
    long_ago = timezone.now() - PREVIEW_EXPIRY - dt.timedelta(minutes=1)
    PaymentImport.objects.filter(pk__in=[old.pk, late.pk]).update(uploaded_at=long_ago)

    with pytest.raises(FileError, match="expired"):
        payment_import_confirm(acting_user=clerk, payment_import=late)
    assert payment_imports_expire() == {"expired": 2}

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, bytes(old.content)) == (ImportStatus.EXPIRED, b"")
    assert fresh.status == ImportStatus.PREVIEWED
    assert payment_imports_expire() == {"expired": 0}
    assert "enrollment.payment_imports_expire" in {s.task for s in SCHEDULES}
    assert Payment.objects.count() == 0
