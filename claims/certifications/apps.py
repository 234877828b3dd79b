from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificationsConfig(AppConfig):
    """Chronic and special-disease certifications, special-drug approvals, 两病 registrations
    (DOMAIN.md §5): one lifecycle for four kinds; the certified outpatient benefits read them."""

    name = "claims.certifications"
    label = "certifications"
    verbose_name = _("Certifications and approvals")
    default_auto_field = "django.db.models.BigAutoField"
