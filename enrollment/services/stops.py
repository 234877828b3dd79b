"""Stopping cover (停保) and refunding contributions (DOMAIN §1)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from medins.benefits.policy import PolicySnapshot
from medins.selectors import PolicyCache

from ..errors import FieldInvalid, NotEligible, RefundRefused
from ..messages import Msg, label
from ..models import CoveragePeriod, CoverageStatus, Payment, PaymentStatus, Person, Stop, StopReason
from .persons import lock_persons


@transaction.atomic
def person_stop(*, acting_user, person: Person, reason: str, stop_date: dt.date, note: str = "") -> Stop:
    """Cover ends on the stop date: a running period is cut there, a later one is cancelled."""
    if reason not in StopReason.values:
        raise FieldInvalid("reason", Msg(gettext_noop("one of %(choices)s"), choices=list(StopReason.values)))
    (person,) = lock_persons([person.pk])
    if Stop.objects.filter(person=person, reason=StopReason.DEATH).exists():
        raise NotEligible(Msg(gettext_noop("the person is already recorded as deceased")))
    periods = list(
        CoveragePeriod.objects.filter(person=person, status=CoverageStatus.ACTIVE, covered_to__gte=stop_date)
        .order_by("pk").select_for_update()
    )
    stop = Stop(person=person, reason=reason, stop_date=stop_date, note=note, created_by=acting_user)
    stop._history_user = acting_user
    stop.save()
    for period in periods:
        if period.covered_from > stop_date:
            period.status = CoverageStatus.CANCELLED
        else:
            period.covered_to = stop_date
        period.stop = stop
        period._history_user = acting_user
        period.save(update_fields=["status", "covered_to", "stop"])
    return stop


def payment_policy(payment: Payment, *, region: str, policies: PolicyCache) -> PolicySnapshot:
    """The policy that priced a payment: the version it records (the benefit year's, DOMAIN §1)."""
    return policies.by_code(region=region, code=payment.policy_version)


def _refund_candidates(stop: Stop, *, lock: bool) -> tuple[list[Payment], dict[int, dt.date]]:
    """The recorded payments whose cover `stop` ended, and the first covered day of each."""
    payments = Payment.objects.filter(person_id=stop.person_id, status=PaymentStatus.RECORDED,
                                      pk__in=CoveragePeriod.objects.filter(stop=stop).values("payment_id")).order_by("pk")
    payments = list(payments.select_for_update() if lock else payments)
    first_day: dict[int, dt.date] = {}
    for payment_id, covered_from in CoveragePeriod.objects.filter(payment__in=payments).values_list("payment_id", "covered_from"):
        first_day[payment_id] = min(covered_from, first_day.get(payment_id, covered_from))
    return payments, first_day


def stop_refundable_payments(stop: Stop) -> list[Payment]:
    """What stop_refund would pay back (read only, for a confirmation page): the payments whose
    benefit period had not started on the stop date. stop_refund may still refuse on the reason."""
    payments, first_day = _refund_candidates(stop, lock=False)
    return [p for p in payments if first_day[p.pk] > stop.stop_date]


@transaction.atomic
def stop_refund(*, acting_user, stop: Stop, policies: PolicyCache | None = None) -> list[Payment]:
    """Refund the payments whose cover this stop ended before it began.

    Allowed only if the benefit period had not started on the stop date and the stop reason is
    one of `contribution.refund_reasons` of the payment's own policy version (the policy of the
    benefit year it bought, DOMAIN §1). Otherwise raises
    RefundRefused with the reason; a region without the parameter raises MissingParameter.
    """
    policies = policies or PolicyCache()
    (person,) = lock_persons([stop.person_id])
    payments, first_day = _refund_candidates(stop, lock=True)
    if not payments:
        raise RefundRefused(Msg(gettext_noop("no recorded payment's cover was ended by this stop")))
    for payment in payments:
        allowed = payment_policy(payment, region=person.region.code, policies=policies).raw("contribution.refund_reasons")
        if stop.reason not in allowed:
            labels = [label(StopReason(r).label) if r in StopReason.values else str(r) for r in allowed]
            raise RefundRefused(Msg(gettext_noop("stop reason '%(reason)s' does not allow a refund (allowed: %(allowed)s)"),
                                    reason=label(StopReason(stop.reason).label), allowed=labels))
    not_started = [p for p in payments if first_day[p.pk] > stop.stop_date]
    if not not_started:
        latest = max(payments, key=lambda p: first_day[p.pk])
        raise RefundRefused(Msg(
            gettext_noop("the benefit period of payment %(receipt)s started on %(start)s, on or before the stop date %(stop)s: "
            "contributions are not refunded once it has started"),
            receipt=latest.receipt_number, start=first_day[latest.pk], stop=stop.stop_date))
    now = timezone.now()
    for payment in not_started:
        payment.status = PaymentStatus.REFUNDED
        payment.refund_stop = stop
        payment.refunded_at = now
        payment._history_user = acting_user
        payment.save(update_fields=["status", "refund_stop", "refunded_at"])
    return not_started
