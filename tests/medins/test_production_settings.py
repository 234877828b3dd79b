"""Production-safe settings (issue 11, item 5; findings 11 and 14).

Each process-level check runs the settings in a fresh interpreter with a clean environment,
as gunicorn or manage.py would start in production.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "scripts" / "production.env.example"


def clean_env(**values) -> dict:
    """A process environment with none of the test run's settings (DEBUG, DATABASE_URL, …)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update(values)
    return env


def run(args, env, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def production_profile() -> dict:
    """The documented production profile, with a freshly made secret key filled in."""
    values = {}
    for line in PROFILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    assert values["SECRET_KEY"] == "", "the example profile must not carry a key"
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    return values


def test_debug_is_off_when_the_environment_does_not_ask_for_it():
    """Finding 6/11: DEBUG defaulted to true, so a 500 showed a traceback with the request row."""
    result = run(["-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
                 clean_env(DJANGO_SETTINGS_MODULE="medins.settings", SECRET_KEY=secrets.token_urlsafe(50)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_without_debug_and_without_a_secret_key_the_process_refuses_to_start():
    """Finding 11: DEBUG=false without SECRET_KEY started with the key committed in the repo."""
    result = run(["manage.py", "check"], clean_env(DEBUG="false"))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_the_committed_development_key_is_refused_without_debug():
    result = run(["manage.py", "check"], clean_env(SECRET_KEY="dev-only-insecure-key-change-me"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_true_runs_with_the_development_key():
    """The demo and the tests set DEBUG=true and need no key."""
    result = run(["manage.py", "check"], clean_env(DEBUG="true"))
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_under_the_documented_production_profile():
    """Finding 11: `check --deploy` gave 6 warnings; under the profile of README "Running in production" it gives none."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], clean_env(**production_profile()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_profile_turns_on_https_protections():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.PROXY_COUNT)")
    result = run(["-c", code], clean_env(DJANGO_SETTINGS_MODULE="medins.settings", **production_profile()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "False True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') 1")
