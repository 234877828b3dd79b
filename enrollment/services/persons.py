"""Registering and changing insured persons."""

from __future__ import annotations

from django.db import transaction

from ..idnumber import IdNumberError
from ..models import Person

DERIVED = ("birth_date", "sex", "id_reversed")


def lock_persons(person_ids) -> list[Person]:
    """Lock persons in pk order (evaluated here, inside the caller's transaction)."""
    qs = Person.objects.filter(pk__in=list(person_ids)).select_related("region", "school")
    return list(qs.order_by("pk").select_for_update(of=("self",)))


@transaction.atomic
def person_save(*, person: Person, acting_user) -> Person:
    """Validate (ID check digit, uniqueness, school region) and save a new or changed person.

    Raises django.core.exceptions.ValidationError keyed by field name.
    """
    if person.pk:
        lock_persons([person.pk])
    try:
        person.derive_from_id_number()
    except IdNumberError:
        pass  # full_clean reports the ID number with its reason
    person.full_clean(exclude=DERIVED)
    person._history_user = acting_user
    person.save()
    return person


def person_register(*, acting_user, id_number: str, name: str, region, community: str = "", phone: str = "",
                    bank_account: str = "", school=None, assistance: str = "") -> Person:
    person = Person(
        id_number=id_number, name=name, region=region, community=community, phone=phone,
        bank_account=bank_account, school=school, assistance=assistance,
    )
    return person_save(person=person, acting_user=acting_user)
