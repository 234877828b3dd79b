"""Login throttling (issue 11, item 5; finding 14: 30 wrong passwords, then the right one worked).

django-axes counts failed logins per user name and address; after AXES_FAILURE_LIMIT of them
(the LOGIN_FAILURE_LIMIT setting) that pair is refused, the right password included, for the
admin login and the school portal's login alike.
"""

import pytest
from django.contrib.auth import get_user_model

ADMIN_LOGIN = "/admin/login/"
PORTAL_LOGIN = "/portal/login/"


@pytest.fixture
def clerk(db):
    return get_user_model().objects.create_user("clerk1", password="right-password-1", is_staff=True)


@pytest.fixture
def school_operator(db):
    return get_user_model().objects.create_user("operator1", password="right-password-1")


def attempt(client, url, username, password, address="10.1.1.1", **extra):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_is_refused_on_the_admin_login(client, clerk):
    """Finding 14, as reported: 30 wrong passwords, then the right one."""
    for _ in range(30):
        attempt(client, ADMIN_LOGIN, "clerk1", "wrong")
    response = attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1")
    assert response.status_code == 429
    assert not logged_in(client)


def test_the_limit_is_a_setting_and_counts_failures_below_it(client, clerk, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert attempt(client, ADMIN_LOGIN, "clerk1", "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1").status_code == 302  # below the limit: in
    assert logged_in(client)


def test_lockout_after_the_limit_shows_a_chinese_page(client, clerk, settings):
    settings.AXES_FAILURE_LIMIT = 3
    responses = [attempt(client, ADMIN_LOGIN, "clerk1", "wrong") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    page = attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1")
    assert page.status_code == 429
    assert not logged_in(client)
    text = page.content.decode()
    assert "登录失败次数过多" in text
    assert "连续 3 次密码错误" in text and "30 分钟后再试" in text  # the limit and the lockout's length


def test_the_lockout_is_per_user_name_and_address(client, clerk, settings):
    """Another address may still log in as the same user, and the locked address as another user:
    an attacker cannot lock a clerk out of every computer."""
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("clerk2", password="right-password-2", is_staff=True)
    for _ in range(3):
        attempt(client, ADMIN_LOGIN, "clerk1", "wrong", address="10.1.1.1")
    assert attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1", address="10.1.1.1").status_code == 429
    assert attempt(client, ADMIN_LOGIN, "clerk2", "right-password-2", address="10.1.1.1").status_code == 302
    client.logout()
    assert attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1", address="10.9.9.9").status_code == 302


def test_the_school_portal_login_is_throttled_too(client, school_operator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        attempt(client, PORTAL_LOGIN, "operator1", "wrong")
    response = attempt(client, PORTAL_LOGIN, "operator1", "right-password-1")
    assert response.status_code == 429
    assert not logged_in(client)


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw_not_the_one_the_client_claims(client, clerk, settings):
    """With PROXY_COUNT=1 the client's own X-Forwarded-For entries are ignored: changing them
    does not reset the count, and the proxy's own address is not what is counted."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.PROXY_COUNT = 1
    for spoofed in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        attempt(client, ADMIN_LOGIN, "clerk1", "wrong", address="127.0.0.1",
                HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.7")
    locked = attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1", address="127.0.0.1",
                     HTTP_X_FORWARDED_FOR="4.4.4.4, 203.0.113.7")
    assert locked.status_code == 429
    other_client = attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1", address="127.0.0.1",
                           HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other_client.status_code == 302


def test_a_successful_login_resets_the_count(client, clerk, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        attempt(client, ADMIN_LOGIN, "clerk1", "wrong")
    assert attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1").status_code == 302
    client.logout()
    for _ in range(2):
        attempt(client, ADMIN_LOGIN, "clerk1", "wrong")
    assert attempt(client, ADMIN_LOGIN, "clerk1", "right-password-1").status_code == 302


def test_code_that_logs_in_without_a_request_still_works(client, clerk):
    """The test client's login() and management code call authenticate() without a request."""
    assert client.login(username="clerk1", password="right-password-1")


def test_an_administrator_sees_the_lockouts_in_chinese(admin_client):
    """The administrator lifts a lockout early in the admin (登录保护 › 登录尝试)."""
    content = admin_client.get("/admin/").content.decode()
    assert "登录保护" in content and "登录尝试" in content
