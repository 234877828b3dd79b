import logging

from axes.apps import AppConfig as BaseAxesConfig
from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class MedinsConfig(AppConfig):
    name = "medins"
    label = "medins"
    verbose_name = _("Reference data and policy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .home.aggregates import sqlite_functions
        from .log_masking import MaskPersonalDataFilter

        # the home page's median on SQLite (the demo's database); PostgreSQL has percentile_cont
        connection_created.connect(sqlite_functions, dispatch_uid="medins_sqlite_functions")

        # gunicorn's loggers keep the handlers gunicorn gave them (its --access-logfile); a
        # filter on the logger masks what they write whatever gunicorn's config (finding 14).
        for name in ("gunicorn.access", "gunicorn.error"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, MaskPersonalDataFilter) for f in logger.filters):
                logger.addFilter(MaskPersonalDataFilter())
        from .jobs import jobs_autodiscover

        jobs_autodiscover()  # each app's jobs.py declares its kinds of background job
        from .services import institution_import  # noqa: F401 - the core app's own (institution files)


class AxesConfig(BaseAxesConfig):
    """django-axes (login throttling) with a translatable name in the admin's sidebar."""

    verbose_name = _("Login protection")


class MedinsAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site: its index is the per-role home page (medins.home)."""

    default_site = "medins.home.site.AdminSite"
