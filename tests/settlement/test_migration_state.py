"""Issue #10 item 5: settlement migration 0007 keeps Django's migration state equal to what the
database has (SeparateDatabaseAndState): the pool membership's unique (person, year) carries the
institution (INCLUDE) on PostgreSQL, and stays unique on SQLite."""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader

from claims.settlement.models import MembershipSource, PoolMembership

NAME = "stl_one_pool_per_person_year"
pytestmark = pytest.mark.django_db


def state_constraint():
    state = MigrationLoader(connection).project_state()
    return next(c for c in state.models["settlement", "poolmembership"].options["constraints"] if c.name == NAME)


def test_the_migration_state_declares_the_covering_unique_constraint():
    constraint = state_constraint()

    assert constraint.fields == ("person", "year") and constraint.include == ("institution",)
    assert constraint == next(c for c in PoolMembership._meta.constraints if c.name == NAME)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the covering constraint is PostgreSQL's")
def test_postgresql_has_what_the_state_says():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [NAME])
        (definition,) = cursor.fetchone()
    state = state_constraint()
    columns = [PoolMembership._meta.get_field(f).column for f in state.fields]
    include = [PoolMembership._meta.get_field(f).column for f in state.include]

    assert definition == f"UNIQUE ({', '.join(columns)}) INCLUDE ({', '.join(include)})"


def test_makemigrations_finds_nothing_to_do():
    out = io.StringIO()
    call_command("makemigrations", "settlement", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_one_pool_per_person_and_year_holds_in_the_database(reference_data, make_student, clinic):
    """DOMAIN §8: a person belongs to one pool institution a year — on SQLite too, where the
    covering constraint cannot be created and the plain one of migration 0001 is kept."""
    student = make_student()
    PoolMembership.objects.filter(person=student).delete()
    PoolMembership.objects.create(person=student, institution=clinic, year=2021, source=MembershipSource.SCHOOL)

    with pytest.raises(IntegrityError), transaction.atomic():
        PoolMembership.objects.create(person=student, institution=clinic, year=2021, source=MembershipSource.SCHOOL)
