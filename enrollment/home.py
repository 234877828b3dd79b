"""The home page's enrollment queue: tax bureau payment files previewed, waiting for confirmation (medins.home)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from medins.home import Queue, register_queue

from .models import ImportStatus

register_queue(Queue(
    key="enrollment.payment_import.confirm", group=_("Enrollment and contributions"), group_order=5,
    label=_("Payment files previewed, waiting for confirmation"), model="enrollment.PaymentImport",
    lookups={"status__exact": ImportStatus.PREVIEWED},
    age_field="uploaded_at", roles=("intake_clerk",), perms=("enrollment.add_payment",)))
