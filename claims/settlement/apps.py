from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    """Outpatient-pool membership, visits and capitation settlement runs.

    A sub-package of claims with its own app label so its tables and migrations evolve
    independently of the case-handling models.
    """

    name = "claims.settlement"
    label = "settlement"
    verbose_name = _("Settlement with institutions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Register the Celery tasks wherever Django runs: services enqueue them by name
        # (services/runs.PROCESS_TASK) instead of importing tasks.py, which imports the services.
        from . import tasks  # noqa: F401
