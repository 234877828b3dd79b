from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedinsConfig(AppConfig):
    name = "medins"
    label = "medins"
    verbose_name = _("Reference data and policy")
    default_auto_field = "django.db.models.BigAutoField"
