"""Recording one contribution payment and the coverage periods it buys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from medins.selectors import PolicyCache

from ..errors import DuplicateReceipt, FieldInvalid, NotEligible
from ..messages import Msg, label
from ..models import Category, CoveragePeriod, CoverageStatus, Payment, PaymentSource, Person, Stop, StopReason
from ..preview import Preview, PreviewRequest
from ..previewing import person_preview_request, preview_request
from .persons import lock_persons


class PaymentNotEligible(NotEligible):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.detail = message

    def as_dict(self) -> dict:
        return {**super().as_dict(), "field": self.field}


def payment_check(*, person: Person, paid_on: dt.date, amount: Decimal, newborn_registration: bool,
                  existing: Iterable[tuple[dt.date, dt.date]], deceased: bool = False,
                  policies: PolicyCache | None = None) -> Preview:
    """The preview for this person and date, checked against the amount paid and existing cover.

    `existing` holds the (covered_from, covered_to) of the person's active periods. Raises
    InvalidRequest/PaymentNotEligible naming the field, or MissingParameter naming the key.
    """
    req = person_preview_request(person, paid_on=paid_on, newborn_registration=newborn_registration)
    return payment_check_request(req, amount=amount, existing=existing, deceased=deceased,
                                 preview=lambda r: preview_request(r, policies=policies))


def payment_check_request(req: PreviewRequest, *, amount: Decimal, existing: Iterable[tuple[dt.date, dt.date]],
                          deceased: bool = False, preview: Callable[[PreviewRequest], Preview] = preview_request) -> Preview:
    """`payment_check` on a preview request; the tax-file import passes a memoising `Previewer`."""
    if deceased:
        raise PaymentNotEligible("id_number", Msg(gettext_noop("the person is recorded as deceased")))
    result = preview(req)
    if amount != result.amount_due:
        raise FieldInvalid("amount", Msg(gettext_noop("paid %(paid)s, but %(due)s is due for %(category)s"), paid=amount,
                                         due=result.amount_due, category=label(Category(result.category).label)))
    for period in result.periods:
        for start, end in existing:
            if start <= period.covered_to and period.covered_from <= end:
                raise PaymentNotEligible("paid_on", Msg(
                    gettext_noop("already covered from %(start)s to %(end)s: benefit year %(year)s is paid"),
                    start=start, end=end, year=period.benefit_year))
    return result


def periods_for(payment: Payment, result: Preview) -> list[CoveragePeriod]:
    return [
        CoveragePeriod(person_id=payment.person_id, payment=payment, benefit_year=p.benefit_year,
                       covered_from=p.covered_from, covered_to=p.covered_to, waiting=p.waiting)
        for p in result.periods
    ]


@transaction.atomic
def payment_record(*, acting_user, person: Person, receipt_number: str, paid_on: dt.date, amount: Decimal,
                   newborn_registration: bool = False, source: str = PaymentSource.MANUAL,
                   policies: PolicyCache | None = None) -> Payment:
    """Record one payment (clerk form, API) and create the coverage periods the preview computes."""
    receipt = (receipt_number or "").strip()
    if not receipt:
        raise FieldInvalid("receipt_number", Msg(gettext_noop("required")))
    (person,) = lock_persons([person.pk])
    if Payment.objects.filter(receipt_number=receipt).exists():
        raise DuplicateReceipt(receipt)
    existing = CoveragePeriod.objects.filter(person=person, status=CoverageStatus.ACTIVE).values_list("covered_from", "covered_to")
    deceased = Stop.objects.filter(person=person, reason=StopReason.DEATH).exists()
    result = payment_check(person=person, paid_on=paid_on, amount=Decimal(amount), newborn_registration=newborn_registration,
                           existing=list(existing), deceased=deceased, policies=policies)
    payment = Payment(
        receipt_number=receipt, person=person, paid_on=paid_on, amount=result.amount_due, category=result.category,
        newborn_registration=newborn_registration, policy_version=result.policy_version, source=source,
    )
    payment._history_user = acting_user
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        raise DuplicateReceipt(receipt) from None  # recorded concurrently
    for period in periods_for(payment, result):
        period._history_user = acting_user
        period.save()
    return payment
