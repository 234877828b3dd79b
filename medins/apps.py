import logging

from axes.apps import AppConfig as BaseAxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedinsConfig(AppConfig):
    name = "medins"
    label = "medins"
    verbose_name = _("Reference data and policy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .log_masking import MaskPersonalDataFilter

        # gunicorn's loggers keep the handlers gunicorn gave them (its --access-logfile); a
        # filter on the logger masks what they write whatever gunicorn's config (finding 14).
        for name in ("gunicorn.access", "gunicorn.error"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, MaskPersonalDataFilter) for f in logger.filters):
                logger.addFilter(MaskPersonalDataFilter())


class AxesConfig(BaseAxesConfig):
    """django-axes (login throttling) with a translatable name in the admin's sidebar."""

    verbose_name = _("Login protection")
