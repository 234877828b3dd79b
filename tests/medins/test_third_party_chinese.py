"""Issue 14 item 4 on the pages no clerk flow visits: permission names, the selector widget's help,
django-celery-beat's and django-axes' pages, catalogue codes and attributes, and a few service
messages read in Chinese for a zh-hans user (tests/e2e/test_layout.py walks those pages with the
browser's English check)."""

import json
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils.translation import override

from medins.admin_auth import permission_label
from medins.value_display import CATALOGUE_ATTRIBUTE_LABELS, value_summary

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def test_every_permission_is_named_in_chinese_and_still_in_english_for_an_english_reader(db):
    permissions = list(Permission.objects.select_related("content_type"))
    assert len(permissions) > 400  # every app's, third-party ones included
    with override("zh-hans"):
        english = [label for p in permissions if LATIN_WORD.search(label := permission_label(p))]
        add_log = permission_label(Permission.objects.get(codename="add_logentry"))
        approve = permission_label(Permission.objects.get(codename="approve_case"))
    assert not english, english[:10]
    assert add_log == "管理 | 日志记录 | 可添加日志记录"
    assert approve.endswith("| 可审批报销案件")  # a model's own permission, by its translated name
    with override("en"):
        assert permission_label(Permission.objects.get(codename="add_logentry")).endswith("Can add log entry")


def test_history_and_many_to_many_tables_are_named_after_their_model(db):
    with override("zh-hans"):
        history = permission_label(Permission.objects.get(codename="view_historicalinstitution"))
        m2m = permission_label(Permission.objects.get(codename="view_historicalinstitution_designations"))
    assert history.endswith("| 可查看定点医药机构历史记录"), history
    assert "定点医药机构：定点资格历史记录" in m2m, m2m


def test_the_group_page_lists_permissions_in_chinese(superuser_client):
    group = Group.objects.create(name="g")
    page = superuser_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "可添加日志记录" in page and "Can add log entry" not in page


def test_the_selector_widget_help_is_in_the_admin_javascript_catalogue(superuser_client):
    """Django's own zh_Hans djangojs lacks the newer SelectFilter2 strings; the project catalogue adds them."""
    catalogue = superuser_client.get(reverse("admin:jsi18n")).content.decode()
    strings = json.loads(re.search(r"const newcatalog = (\{.*?\});\n", catalogue, re.S).group(1))
    assert strings['Choose %s by selecting them and then select the "Choose" arrow button.'] == "在左侧框中选中%s，再点击“选择”箭头。"
    assert strings["Remove selected %s"] == "移除选中的%s"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"minute": "0", "hour": "7", "day_of_month": "6"}, "在 07:00，每月的 6 号（北京时间）"),
    ({"minute": "30", "hour": "0", "day_of_month": "1", "month_of_year": "1"}, "在 00:30，每月的 1 号，仅在 1月（北京时间）"),
    ({"minute": "0", "hour": "2", "day_of_week": "1-5"}, "在 02:00，星期一 到 星期五（北京时间）"),
])
def test_a_crontab_reads_as_a_chinese_sentence(db, fields, expected):
    from django_celery_beat.models import CrontabSchedule

    from medins.admin_schedules import cron_text

    crontab = CrontabSchedule(timezone="Asia/Shanghai", **{"minute": "*", "hour": "*", "day_of_month": "*",
                                                           "month_of_year": "*", "day_of_week": "*", **fields})
    with override("zh-hans"):
        assert cron_text(crontab) == expected
        assert not LATIN_WORD.search(str(crontab))  # no "(m/h/dM/MY/d) Asia/Shanghai" where Django prints it


def test_the_periodic_task_pages_are_chinese(superuser_client):
    from django_celery_beat.models import PeriodicTask

    from medins.schedules import schedules_sync

    schedules_sync()
    task = PeriodicTask.objects.get(task="carecare.care_claims_reminder")
    assert task.name == "照护费用申报提醒" and not LATIN_WORD.search(task.description)
    listing = superuser_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "在 07:00，每月的 6 号（北京时间）" in listing and "m/h/dM/MY/d" not in listing
    page = superuser_client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])).content.decode()
    assert "执行计划" in page and "Translation:" not in page and "Execution Options" not in page
    # the collapsed parts too (arguments, execution options): their help names no JSON, AMQP or True/False
    assert not re.search(r"JSON|AMQP|RabbitMQ|True|False|None", page.split('id="content-main"')[1].split("<script")[0])


def test_a_schedule_synced_earlier_under_its_english_name_is_kept(db):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from medins.schedules import SCHEDULES, schedules_sync

    crontab = CrontabSchedule.objects.create(minute="30", hour="1")
    PeriodicTask.objects.create(name="nightly payment orders", task="claims.payment_orders_nightly", crontab=crontab)
    result = schedules_sync()
    assert result["nightly payment orders"] == "kept"
    assert PeriodicTask.objects.filter(task="claims.payment_orders_nightly").count() == 1
    assert PeriodicTask.objects.count() == len(SCHEDULES)


def test_catalogue_attributes_read_as_labels():
    with override("zh-hans"):
        text = str(value_summary({"annual_cap": "2500", "note": "原表错位", "episodic": True}, CATALOGUE_ATTRIBUTE_LABELS))
    assert text == "年度限额：2500；说明：原表错位；阶段性治疗：是"


def test_the_catalogue_list_shows_group_names_and_attributes_without_json(superuser_client):
    page = superuser_client.get(reverse("admin:medins_catalogueitem_changelist") + "?q=diabetes").content.decode()
    assert "单独年度限额" in page and "年度限额：" in page and '{"annual_cap"' not in page


def test_an_upload_refusal_is_in_chinese(db):
    from claims.settlement.services.uploads import UploadRefused, _check_user
    from enrollment.messages import localized
    from medins.models import Institution
    from tests.enrollment.factories import UserFactory

    institution = Institution.objects.first()
    with pytest.raises(UploadRefused) as caught:
        _check_user(UserFactory(username="nobody"), "visits", institution)
    with override("zh-hans"):
        assert localized(caught.value) == "您无权上传就诊记录"
    assert str(caught.value) == "you may not upload Visits"  # the API and logs stay English


def test_a_batch_row_of_the_wrong_shape_is_refused_in_chinese():
    from claims.services.batches import _rejected

    with override("zh-hans"):
        entry = _rejected({"row": 3}, TypeError("'int' object is not subscriptable"))
    assert entry["errors"] == ["该行无法读取：有数据的格式不正确"]


def test_the_periodic_task_actions_answer_in_chinese(superuser_client):
    from django_celery_beat.models import PeriodicTask

    from medins.schedules import schedules_sync

    schedules_sync()
    ids = list(PeriodicTask.objects.values_list("pk", flat=True)[:2])
    response = superuser_client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                                     {"action": "disable_tasks", "_selected_action": ids}, follow=True)
    assert "已停用 2 个任务" in response.content.decode()
    assert PeriodicTask.objects.filter(pk__in=ids, enabled=False).count() == 2
