from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    """The one yearly ledger: every year-to-date figure of a person comes from here (DESIGN.md).

    A sub-package of claims with its own app label: cases, pool visits and (later) certified
    outpatient visits and care claims all write through its service; it depends on enrollment only.
    """

    name = "claims.ledger"
    label = "ledger"
    verbose_name = _("Yearly ledger")
    default_auto_field = "django.db.models.BigAutoField"
