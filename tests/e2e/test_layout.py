"""Issue #14 item 7: "No horizontal scroll at 1366 px on any list or detail page". With the demo's
data (every app's demo records), the administrator — who sees every list and every column — opens
each list of the admin and the page of its first row, at 1366×900 (tests/e2e/conftest.py VIEWPORT):
none may be wider than the window (assert_no_horizontal_scroll), and none may show English (issue 14 item 4)."""

import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from medins.demo import DEMO_ADMIN
from tests.e2e.conftest import assert_no_horizontal_scroll, shot
from tests.e2e.test_reference_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(reference_data):
    call_command("demo_data", stdout=io.StringIO())
    _third_party_records()


def _third_party_records():
    """A record on each third-party page the demo leaves empty, so that its list and its page are
    walked too: the schedules other than crontabs, a login attempt and a failed login."""
    from axes.models import AccessAttempt, AccessFailureLog
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule, IntervalSchedule, SolarSchedule

    IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    SolarSchedule.objects.create(event="sunrise", latitude="36.65", longitude="117.12")
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    request = {"user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ip_address": "127.0.0.1", "username": DEMO_ADMIN,
               "http_accept": "text/html", "path_info": "/admin/login/"}
    AccessAttempt.objects.create(**request, get_data="", post_data=f"username={DEMO_ADMIN}", failures_since_start=1)
    AccessFailureLog.objects.create(**request, locked_out=False)


def _lists():
    for model in admin.site._registry:
        try:
            yield model, reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        except NoReverseMatch:
            continue


# This walk opens every admin page, the administrator's and third-party ones included (the users'
# and groups' permissions, django-celery-beat's and django-axes' pages, the catalogue): each is also
# checked for English words a zh-hans user would read (tests/e2e/conftest.py, issue 14 item 4).
def test_every_list_and_its_first_page_fit_1366_pixels(demo, live_server, page):
    login(page, live_server, DEMO_ADMIN)
    failures = []

    def check(url):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_selector("#content")
        try:
            assert_no_horizontal_scroll(page)
        except AssertionError as exc:
            failures.append(str(exc))
            shot(page, "overflow-" + url.strip("/").replace("/", "-"))

    for model, url in _lists():
        check(url)
        first = model._default_manager.order_by("-pk").first()
        if first is not None:
            check(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[first.pk]))
    assert not failures, "\n".join(failures)
