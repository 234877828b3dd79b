from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CarecareConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'carecare'
    verbose_name = _("Long-term care")
