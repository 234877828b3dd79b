"""Factories and builders of the claims tests (reference data and case types come from the loaders)."""

import datetime as dt

from enrollment.models import CoveragePeriod
from tests.enrollment.factories import PersonFactory, SchoolFactory  # noqa: F401


def cover(person, year=2021):
    return CoveragePeriod.objects.create(person=person, benefit_year=year, covered_from=dt.date(year, 1, 1),
                                         covered_to=dt.date(year, 12, 31))


def invoice(number="INV-0001", issuer="吉林大学第一医院", a="20000.00", b="10000.00", c="1500.00", kind="original",
            issued_on="2021-05-20"):
    return {"issuer": issuer, "number": number, "issued_on": issued_on, "class_a": a, "class_b": b, "class_c": c, "kind": kind}
