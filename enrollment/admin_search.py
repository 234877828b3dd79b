"""Finding people in the admin (issue #14 item 6): one search for every list whose rows belong to a
person, and the person chooser's narrowing for tenants.

Every list that searches persons — persons, payments, cover, stops, cases, certifications,
renewals, visits, care assessments, stays and claims, payment orders, the ledger — finds its rows
by the person with `persons_search` (full ID number, its last digits, or the start of the name;
each an indexed lookup), or by one of the list's own numbers (receipt, invoice, visit, case …).

Lives in enrollment, not in medins.admin_mixins: the core app does not import enrollment
(DESIGN "Layout": medins ← enrollment ← claims ← carecare).
"""

from __future__ import annotations

import re

from django.contrib.admin.utils import lookup_spawns_duplicates
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .idnumber import normalize
from .models import Person
from .selectors import persons_search

PERSON_SEARCH_HELP = _("Full ID number, its last digits, or the start of the name")
_FULL_ID = re.compile(r"^\d{17}[\dX]$")


def is_full_id_number(term: str) -> bool:
    return bool(_FULL_ID.match(normalize(term)))


class PersonSearchMixin:
    """A ModelAdmin whose rows belong to a person (`person_path`: "person", "case__person",
    "lines__person"): the search box finds a row by its person (`persons_search`) or by one of
    `number_fields` equal to the term (exact, e.g. a receipt or invoice number); `search_number`
    may add a Q of its own (a case number BX00000012 → its primary key). No icontains scan: every
    branch is an indexed lookup, a row is never listed twice."""

    person_path = "person"
    number_fields: tuple[str, ...] = ()
    search_help_text = PERSON_SEARCH_HELP

    def get_search_fields(self, request):
        # shows the search box (and lets the admin serve an autocomplete); the search is below
        return (f"{self.person_path}__name", *self.number_fields)

    def search_number(self, term: str) -> Q | None:
        return None

    def _match(self, queryset: QuerySet, path: str, value) -> Q:
        if lookup_spawns_duplicates(queryset.model._meta, path):
            return Q(pk__in=queryset.model._default_manager.filter(**{path: value}).values("pk"))
        return Q(**{path: value})

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        persons = persons_search(Person.objects.all(), term).values("pk")
        match = self._match(queryset, f"{self.person_path}__in", persons)
        for field in self.number_fields:
            match |= self._match(queryset, field, term)
        extra = self.search_number(term)
        if extra is not None:
            match |= extra
        return queryset.filter(match), False


def tenant_person_choices(queryset: QuerySet[Person], term: str, own: Q | None) -> QuerySet[Person]:
    """The persons a chooser suggests: everyone for an agency user (`own` None); for a tenant (an
    institution operator) only its own persons (`own`, a condition on Person) — unless the term is
    a full ID number, which names one person the operator already knows (as the API, which takes
    the full ID number), so a new resident or patient can be chosen."""
    if own is None or is_full_id_number(term):
        return queryset
    return queryset.filter(own)
