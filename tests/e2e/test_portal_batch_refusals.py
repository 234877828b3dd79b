"""A school operator uploads a batch whose rows are refused and reads every reason in Chinese
(issue 14 item 4: the refusals carried English glosses or were English only)."""

import datetime as dt

import pytest

from claims.models import SchoolOperator
from medins.demo import DEMO_PASSWORD
from tests.claims.factories import PersonFactory, SchoolFactory, cover
from tests.e2e.conftest import assert_no_english, shot
from tests.enrollment.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_school_reads_refused_rows_of_its_batch_in_chinese(reference_data, live_server, page, tmp_path):
    from medins.models import Region

    jinan = Region.objects.get(code="370100")
    school, other = SchoolFactory(region=jinan, kind="college", name="大学甲"), SchoolFactory(region=jinan, name="大学乙")
    user = UserFactory(username="schoolop", is_staff=False)
    user.set_password(DEMO_PASSWORD)
    user.save()
    SchoolOperator.objects.create(user=user, school=school)
    ours = PersonFactory(area="370102", birth=dt.date(2002, 1, 1), school=school, name="学生甲")
    theirs = PersonFactory(area="370102", birth=dt.date(2002, 2, 2), school=other, name="学生乙")
    cover(ours)
    cover(theirs)

    def line(n, person, *, name=None, case_type="accident", day="2021-04-02", code="", level="secondary"):
        return (f"{n},{person.id_number},{name or person.name},{case_type},{day},{code},校外医院,{level},校外医院,"
                f"ZH-{n},2021-04-02,500.00,invoice;emergency_outpatient_record")

    csv = tmp_path / "退回.csv"
    csv.write_text("\n".join([
        "行号,身份证号,姓名,报销类型,就诊开始日期,医疗机构编码,医疗机构名称,医院级别,开票单位,发票号码,开票日期,甲类费用,材料",
        line(1, theirs), line(2, ours, name="别人"), line(3, ours, case_type="nope"), line(4, ours, code="NOT-A-CODE"),
        line(5, ours, level="galactic"), line(6, ours, day="2022-04-02"), line(7, ours, day="四月二日"),
    ]) + "\n", encoding="utf-8")

    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", "schoolop")
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live_server.url}/portal/upload/")
    page.set_input_files("input[type=file]", str(csv))
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("#report")
    shot(page, "portal-batch-refusals")
    reasons = page.locator("#report td.wrap").all_inner_texts()
    assert len(reasons) == 7 and "不是本校参保学生" in reasons[0] and "未知的报销类型" in reasons[2]
    assert_no_english(page)
