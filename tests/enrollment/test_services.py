"""DOMAIN §1 through the services: persons, payments, coverage periods, stops, refunds, re-enrollment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from enrollment.errors import DuplicateReceipt, InvalidRequest, MissingParameter, NotEligible, RefundRefused
from enrollment.models import CoveragePeriod, CoverageStatus, Payment, PaymentStatus, StopReason
from enrollment.selectors import is_covered
from enrollment.services import payment_record, person_register, person_stop, stop_refund
from medins.models import Region

D = dt.date


def pay(person, paid, amount="320.00", receipt=None, user=None, **kw):
    return payment_record(acting_user=user, person=person, receipt_number=receipt or f"R{person.pk}-{paid}",
                          paid_on=paid, amount=Decimal(amount), **kw)


def spans(person):
    return list(CoveragePeriod.objects.filter(person=person).order_by("covered_from")
                .values_list("benefit_year", "covered_from", "covered_to", "status"))


# --------------------------------------------------------------------------- persons


def test_register_reads_birth_date_and_sex_from_the_id_number(reference_data, clerk):
    """DOMAIN §1: birth date and sex (odd sequence = male) come from the ID number."""
    person = person_register(acting_user=clerk, id_number="11010519491231002x", name="王芳",
                             region=Region.objects.get(code="220100"))

    assert (person.id_number, person.birth_date, person.sex) == ("11010519491231002X", D(1949, 12, 31), "F")
    assert person.history.get().history_user == clerk


@pytest.mark.parametrize("number, reason", [
    ("220102199001011234", "check digit"),
    ("220102199002301230", "not a real date"),
    ("22010219900101123", "18 characters"),
])
def test_register_rejects_bad_id_numbers_naming_the_field(reference_data, number, reason):
    """DOMAIN §1: GB 11643 check character; the birth date must be a real date."""
    with translation.override("en"), pytest.raises(ValidationError) as exc:  # the reason is in the active language
        person_register(acting_user=None, id_number=number, name="张三", region=Region.objects.get(code="220100"))

    assert reason in str(exc.value.message_dict["id_number"])


def test_id_number_is_unique_per_person(person_factory):
    """Issue #3: one person per ID number."""
    existing = person_factory()

    with pytest.raises(ValidationError) as exc:
        person_register(acting_user=None, id_number=existing.id_number, name="另一个", region=existing.region)

    assert "id_number" in exc.value.message_dict


def test_school_must_be_in_the_persons_region(person_factory, school_factory):
    school = school_factory(region=Region.objects.get(code="370100"))

    with pytest.raises(ValidationError) as exc:
        person_register(acting_user=None, id_number="220102200501010019", name="学生",
                        region=Region.objects.get(code="220100"), school=school)

    assert "school" in exc.value.message_dict


# --------------------------------------------------------------------------- payments


def test_payment_creates_the_periods_the_preview_computed(person_factory, clerk):
    """DOMAIN §1 Changchun late payment: paid 2021-03-31 -> covered 2021-06-30 – 2021-12-31."""
    person = person_factory()

    payment = pay(person, D(2021, 3, 31), user=clerk)

    assert (payment.amount, payment.category, payment.policy_version) == (Decimal("320.00"), "adult", "220100-2021")
    assert spans(person) == [(2021, D(2021, 6, 30), D(2021, 12, 31), "active")]
    assert payment.history.get().history_user == clerk


def test_duplicate_receipt_is_refused(person_factory):
    """DOMAIN §1: each payment has a unique receipt number."""
    person, other = person_factory(), person_factory()
    pay(person, D(2021, 3, 15), receipt="R1")

    with pytest.raises(DuplicateReceipt):
        pay(other, D(2021, 3, 15), receipt="R1")

    assert Payment.objects.count() == 1


def test_wrong_amount_is_refused_naming_the_field(person_factory):
    person = person_factory()

    with pytest.raises(InvalidRequest) as exc:
        pay(person, D(2021, 3, 15), amount="200.00")

    assert exc.value.field == "amount"
    assert "320.00 is due" in str(exc.value)


def test_paying_twice_for_a_covered_year_is_refused(person_factory, changchun_2022):
    person = person_factory()
    pay(person, D(2021, 10, 15), receipt="R1")

    with pytest.raises(NotEligible, match="already covered"):
        pay(person, D(2021, 11, 15), receipt="R2")


def test_jinan_payment_reports_the_missing_amounts(person_factory):
    """Issue #3: Jinan amounts are not in the seed: the payment is refused naming the parameter."""
    person = person_factory(area="370102")

    with pytest.raises(MissingParameter) as exc:
        pay(person, D(2021, 3, 15))

    assert exc.value.parameter == "contribution.amounts"


def test_lapsed_person_reenrolls_in_a_later_window_without_arrears(person_factory, changchun_2022):
    """DOMAIN §1: a lapsed person re-enrolls in a later window without paying missed years."""
    person = person_factory()
    CoveragePeriod.objects.create(person=person, benefit_year=2020, covered_from=D(2020, 1, 1), covered_to=D(2020, 12, 31))
    # nothing paid for 2021

    payment = pay(person, D(2021, 11, 2))

    assert payment.amount == Decimal("320.00")  # one year, no 2021 arrears
    assert not is_covered(person, D(2021, 6, 1))
    assert is_covered(person, D(2022, 1, 1))


# --------------------------------------------------------------------------- is_covered


def test_is_covered_on_the_boundaries(person_factory):
    """Issue #3: is_covered(person, date) over coverage periods, both ends inclusive."""
    person = person_factory()
    pay(person, D(2021, 3, 15))

    assert not is_covered(person, D(2021, 6, 14))
    assert is_covered(person, D(2021, 6, 15))
    assert is_covered(person, D(2021, 12, 31))
    assert not is_covered(person, D(2022, 1, 1))


def test_is_covered_is_one_indexed_query(person_factory):
    """Issue #3: is_covered is one query on CoveragePeriod(person, covered_from, covered_to)."""
    person = person_factory()
    pay(person, D(2021, 3, 15))

    with CaptureQueriesContext(connection) as queries:
        is_covered(person, D(2021, 7, 1))

    assert len(queries) == 1
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + queries[0]["sql"].replace("%s", "?"))
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "enr_cover_person_dates" in plan


# --------------------------------------------------------------------------- stops and refunds


def test_stop_ends_cover_on_the_stop_date(person_factory, clerk):
    """DOMAIN §1: stop (停保): cover ends on the stop date."""
    person = person_factory()
    pay(person, D(2021, 3, 15))

    stop = person_stop(acting_user=clerk, person=person, reason=StopReason.JOINED_EMPLOYEE_INSURANCE,
                       stop_date=D(2021, 9, 30))

    assert is_covered(person, D(2021, 9, 30))
    assert not is_covered(person, D(2021, 10, 1))
    assert spans(person) == [(2021, D(2021, 6, 15), D(2021, 9, 30), "active")]
    assert stop.history.get().history_user == clerk


def test_stop_before_the_period_starts_cancels_it(person_factory, changchun_2022):
    person = person_factory()
    pay(person, D(2021, 3, 15), receipt="R2021")
    pay(person, D(2021, 10, 15), receipt="R2022")

    person_stop(acting_user=None, person=person, reason=StopReason.DEATH, stop_date=D(2021, 11, 1))

    assert spans(person) == [(2021, D(2021, 6, 15), D(2021, 11, 1), "active"),
                             (2022, D(2022, 1, 1), D(2022, 12, 31), "cancelled")]
    assert not is_covered(person, D(2022, 3, 1))


@pytest.mark.parametrize("reason", [StopReason.JOINED_EMPLOYEE_INSURANCE, StopReason.DEATH, StopReason.JOINED_OTHER_REGION])
def test_refund_allowed_before_the_benefit_period_for_listed_reasons(person_factory, clerk, reason, changchun_2022):
    """DOMAIN §1: refund only if the benefit period has not started and the reason is employee
    insurance, death or another region's resident insurance."""
    person = person_factory()
    pay(person, D(2021, 10, 15), receipt="R2022")
    stop = person_stop(acting_user=clerk, person=person, reason=reason, stop_date=D(2021, 12, 1))

    refunded = stop_refund(acting_user=clerk, stop=stop)

    assert [p.receipt_number for p in refunded] == ["R2022"]
    payment = Payment.objects.get()
    assert (payment.status, payment.refund_stop) == (PaymentStatus.REFUNDED, stop)


def test_refund_refused_for_other_reasons(person_factory, changchun_2022):
    """DOMAIN §1: other reasons get no refund."""
    person = person_factory()
    pay(person, D(2021, 10, 15))
    stop = person_stop(acting_user=None, person=person, reason=StopReason.OTHER, stop_date=D(2021, 12, 1))

    with pytest.raises(RefundRefused, match="does not allow a refund"):
        stop_refund(acting_user=None, stop=stop)

    assert Payment.objects.get().status == PaymentStatus.RECORDED


def test_refund_refused_once_the_benefit_period_started(person_factory):
    """DOMAIN §1: after the benefit period starts, no refund."""
    person = person_factory()
    pay(person, D(2021, 3, 15))
    stop = person_stop(acting_user=None, person=person, reason=StopReason.JOINED_EMPLOYEE_INSURANCE,
                       stop_date=D(2021, 7, 1))

    with pytest.raises(RefundRefused, match="not refunded once it has started"):
        stop_refund(acting_user=None, stop=stop)


def test_refund_in_the_waiting_period_is_allowed(person_factory):
    """DOMAIN §1: during the waiting period the benefit period has not started yet."""
    person = person_factory()
    pay(person, D(2021, 3, 15))
    stop = person_stop(acting_user=None, person=person, reason=StopReason.JOINED_EMPLOYEE_INSURANCE,
                       stop_date=D(2021, 5, 1))

    assert len(stop_refund(acting_user=None, stop=stop)) == 1
    assert CoveragePeriod.objects.get().status == CoverageStatus.CANCELLED


def test_refund_returns_only_the_payment_not_started(person_factory, changchun_2022):
    """A stop cutting this year and cancelling next year refunds only next year's contribution."""
    person = person_factory()
    pay(person, D(2021, 3, 15), receipt="R2021")
    pay(person, D(2021, 10, 15), receipt="R2022")
    stop = person_stop(acting_user=None, person=person, reason=StopReason.JOINED_EMPLOYEE_INSURANCE,
                       stop_date=D(2021, 11, 1))

    refunded = stop_refund(acting_user=None, stop=stop)

    assert [p.receipt_number for p in refunded] == ["R2022"]
    assert Payment.objects.get(receipt_number="R2021").status == PaymentStatus.RECORDED


def test_refund_twice_is_refused(person_factory, changchun_2022):
    person = person_factory()
    pay(person, D(2021, 10, 15))
    stop = person_stop(acting_user=None, person=person, reason=StopReason.DEATH, stop_date=D(2021, 12, 1))
    stop_refund(acting_user=None, stop=stop)

    with pytest.raises(RefundRefused):
        stop_refund(acting_user=None, stop=stop)


def test_reenrollment_after_a_stop_in_a_later_window(person_factory, changchun_2022):
    """DOMAIN §1: re-enrollment in a later window, no arrears for the stopped months."""
    person = person_factory()
    pay(person, D(2021, 3, 15), receipt="R1")
    person_stop(acting_user=None, person=person, reason=StopReason.JOINED_OTHER_REGION, stop_date=D(2021, 8, 31))

    payment = pay(person, D(2021, 10, 10), receipt="R2")

    assert (payment.amount, payment.policy_version) == (Decimal("320.00"), "220100-2022")
    assert not is_covered(person, D(2021, 10, 1))
    assert is_covered(person, D(2022, 1, 1))


def test_deceased_person_cannot_pay_or_be_stopped_again(person_factory):
    person = person_factory()
    person_stop(acting_user=None, person=person, reason=StopReason.DEATH, stop_date=D(2021, 2, 1))

    with pytest.raises(NotEligible, match="deceased"):
        pay(person, D(2021, 10, 15))
    with pytest.raises(NotEligible, match="deceased"):
        person_stop(acting_user=None, person=person, reason=StopReason.OTHER, stop_date=D(2021, 3, 1))


def test_jinan_refund_reasons_are_missing(person_factory):
    """Issue #3: Jinan's refund rule is not in the seed: missing_parameter naming the key."""
    person = person_factory(area="370102")
    period = CoveragePeriod.objects.create(person=person, benefit_year=2022, covered_from=D(2022, 1, 1),
                                           covered_to=D(2022, 12, 31))
    payment = Payment.objects.create(receipt_number="J1", person=person, paid_on=D(2021, 10, 1), amount=Decimal("1"),
                                     category="adult", policy_version="370100-2021", source="manual")
    period.payment = payment
    period.save()
    stop = person_stop(acting_user=None, person=person, reason=StopReason.DEATH, stop_date=D(2021, 11, 1))

    with pytest.raises(MissingParameter) as exc:
        stop_refund(acting_user=None, stop=stop)

    assert exc.value.parameter == "contribution.refund_reasons"


# --------------------------------------------------------------------------- the benefit year's policy (issue #14)


def test_payment_in_the_2020_window_is_priced_by_the_2021_policy(person_factory, clerk):
    """DOMAIN §1: paid 2020-11-05 (no 2020 policy) buys 2021, priced by 220100-2021: recorded,
    not refused as a missing policy_version."""
    person = person_factory()

    payment = pay(person, D(2020, 11, 5), user=clerk)

    assert (payment.amount, payment.policy_version) == (Decimal("320.00"), "220100-2021")
    assert spans(person) == [(2021, D(2021, 1, 1), D(2021, 12, 31), "active")]


def test_payment_in_the_2021_window_pays_the_2022_amount(person_factory, changchun_2022):
    """DOMAIN §1: in the 2021 window the 2022 policy's amount is due, not 2021's."""
    from medins.models import PolicyParameter

    PolicyParameter.objects.filter(version=changchun_2022, key="contribution.amounts").update(
        value={"adult": "350", "minor": "210", "student": "210", "newborn": "210"})
    person = person_factory()

    with pytest.raises(InvalidRequest, match="350.00 is due"):
        pay(person, D(2021, 11, 5), amount="320.00")
    payment = pay(person, D(2021, 11, 5), amount="350.00")

    assert payment.policy_version == "220100-2022"


def test_payment_in_the_2021_window_without_a_2022_policy_is_refused(person_factory):
    """DOMAIN §1 + 'never guesses': the 2022 policy is not loaded, so a 2021-window payment is
    refused naming policy_version on 2022-01-01 (not priced by the 2021 amount)."""
    with pytest.raises(MissingParameter) as exc:
        pay(person_factory(), D(2021, 11, 5))

    assert (exc.value.parameter, exc.value.date) == ("policy_version", D(2022, 1, 1))


def test_refund_reads_the_rules_of_the_payments_own_policy(person_factory, clerk):
    """DOMAIN §1: the refund rules of a payment come from the policy of the year it bought: a
    2020-window payment stopped in December 2020 (no 2020 policy) is refunded by the 2021 rules."""
    person = person_factory()
    pay(person, D(2020, 10, 15), receipt="R2021")
    stop = person_stop(acting_user=clerk, person=person, reason=StopReason.DEATH, stop_date=D(2020, 12, 1))

    refunded = stop_refund(acting_user=clerk, stop=stop)

    assert [p.receipt_number for p in refunded] == ["R2021"]
