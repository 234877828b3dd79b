"""Settings for the resident medical insurance back-office.

Everything that differs between a laptop, CI and production comes from the environment.
With nothing set but SECRET_KEY, the project runs on a local SQLite file with Celery in eager
mode. DEBUG is off unless asked for (the demo and the test setup set DEBUG=true), and with
DEBUG off the HTTPS protections are on by default; README "Running in production" lists the
production profile, which `manage.py check --deploy` passes without a warning
(tests/medins/test_production_settings.py).
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
_DEVELOPMENT_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == _DEVELOPMENT_KEY:
    if not DEBUG:
        # Issue 11, finding 11: without this the process started with the key committed in the repo.
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string in the environment "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=true "
            "for development, which uses a development key.")
    SECRET_KEY = _DEVELOPMENT_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS: on by default outside development; each can be switched off where a proxy does the job.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
# Both reach beyond this site (every subdomain; browsers' preload lists): the deployment decides.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("USE_X_FORWARDED_PROTO", default=False) else None
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "medins.apps.MedinsAdminConfig",  # django.contrib.admin, its index the home page of medins.home
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "guardian",
    "django_celery_beat",
    "django_celery_results",
    "medins.apps.AxesConfig",  # django-axes
    "medins.apps.MedinsConfig",
    "enrollment",
    "claims.ledger",
    "claims",
    "claims.settlement",
    "claims.certifications",
    "claims.supervision",
    "carecare",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "medins.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medins.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "medins.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Services open their own transactions; requests are not wrapped in one.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A second connection to the same database, used only to publish a background job's progress
    # while its work is one open transaction (medins.jobs.progress_alias). Not a database of its own in tests.
    DATABASES["jobs"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
# Uploads with more data rows than this are checked and imported by a background job with a
# progress page (medins.jobs); smaller ones stay on the page (issue #14 item 3).
JOB_UPLOAD_THRESHOLD = env.int("JOB_UPLOAD_THRESHOLD", default=2000)

AUTHENTICATION_BACKENDS = [
    # First: counts failed logins and refuses a locked-out username + address (issue 11, finding 14).
    "medins.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are a PostgreSQL speed-up; on the SQLite demo database they are
# plain indexes, which is all W040 says. W039: the one covering unique constraint (settlement's
# pool membership) stays the plain unique constraint on SQLite (its migration 0007 keeps it).
SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W039"]

LOGIN_URL = "admin:login"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES, even with the right
# password; an administrator lifts a lockout earlier in the admin (登录保护 › 登录尝试) or with
# `manage.py axes_reset_username NAME`. Covers every form that logs in through Django's
# authenticate(): the admin login, the school portal login, and any password-based API login.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "medins.auth.lockout_response"
# The client's address: REMOTE_ADDR, or behind PROXY_COUNT reverse proxies the X-Forwarded-For
# entry the outermost proxy added (medins.auth.client_ip; what a client sends itself is ignored).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "medins.auth.client_ip"

REST_FRAMEWORK = {
    # Token first: a request without credentials is answered 401 with `WWW-Authenticate: Token`
    # (DRF takes the header from the first class; session first gave 403), issue #14.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only (issue #14 item 10): an operation advertises exactly one body type, so a client
    # generated from /api/schema/ works; the upload endpoints set MultiPartParser for themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "medins.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Resident medical insurance back-office API",
    "DESCRIPTION": "城乡居民基本医疗保险经办系统 API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: the agency network has no CDN access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "medins.api.errors.document_error_responses"],
    # Choice sets sharing a field name ("source", "state"): named apart, so the schema (and `check --deploy`) has no warning.
    "ENUM_NAME_OVERRIDES": {"BatchSourceEnum": "claims.models.BatchSource",
                            "MembershipSourceEnum": "claims.settlement.models.MembershipSource",
                            "CertificationKindEnum": "claims.certifications.models.CertificationKind",
                            "CertificationStateEnum": "claims.certifications.workflow.CertificationState",
                            "SchoolCertificationKindEnum": ["chronic"],
                            "AssessmentStateEnum": "carecare.models.AssessmentState",
                            "CareClaimStateEnum": "carecare.models.CareClaimState",
                            "StateEnum": "claims.workflow.CaseState"},  # the case's, named as before
    # The schema and its docs are for users who log in (any role), not for anyone (finding 14).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# Limits on outside data (medins.parsing): files uploaded by schools and institutions (portal,
# API, admin pool upload) and the rows a file may hold. Staff imports (tax bureau files, the
# bank's result file) are larger by nature and have their own limits.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
UPLOAD_MAX_ROWS = env.int("UPLOAD_MAX_ROWS", default=10_000)
STAFF_IMPORT_MAX_BYTES = env.int("STAFF_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
STAFF_IMPORT_MAX_ROWS = env.int("STAFF_IMPORT_MAX_ROWS", default=2_000_000)
# A portal or admin page shows at most this many rows of a batch's report (the rest page by page).
REPORT_PAGE_ROWS = env.int("REPORT_PAGE_ROWS", default=200)

# Celery: with no REDIS_URL, tasks run eagerly in-process so the demo needs nothing installed.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies is put back on the queue, not acknowledged (with acks_late).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The queue tasks go to unless routed elsewhere (tests give a worker a private one).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The settlement-run watchdog resumes a run whose heartbeat is older than this (claims/settlement/services/runs.py).
SETTLEMENT_RUN_STALE_MINUTES = env.int("SETTLEMENT_RUN_STALE_MINUTES", default=10)
# Certifications (claims/certifications): the admin queue of applications waiting for documents
# longer than this many days, and the largest scanned document accepted.
CERTIFICATION_INCOMPLETE_DAYS = env.int("CERTIFICATION_INCOMPLETE_DAYS", default=14)
CERTIFICATION_ATTACHMENT_MAX_BYTES = env.int("CERTIFICATION_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A worker logs through LOGGING below (with its masking filter), not through handlers of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Logs never hold a full ID number or bank account (issue 11, finding 14): every handler masks
# 18-character ID numbers and long digit runs, whatever logged them — runserver's request line
# (an admin search is a GET query string ?q=<ID number>), Django's request errors, Celery.
# gunicorn's loggers keep their own handlers (its --access-logfile): medins/gunicorn_conf.py
# puts the same filter on those loggers, and so does the app when it loads (MedinsConfig.ready).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "medins.log_masking.MaskPersonalDataFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_personal_data"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                          "filters": ["mask_personal_data"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # Failed logins and lockouts are warnings (user name and address starred); not the start-up banner.
        "axes": {"level": "WARNING"},
    },
}
