from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Fund security (DOMAIN.md §9): findings of the rules in medins.fund_security, the
    supervision queue, the grey list and (later) recovery orders.

    A sub-package of claims with its own app label. It refers to the settlements it judges
    generically (kind + id) because care claims (carecare) depend on claims, not the reverse.
    """

    name = "claims.supervision"
    label = "supervision"
    verbose_name = _("Fund supervision")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import tasks  # noqa: F401
