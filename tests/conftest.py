"""Shared fixtures: factories are registered here so every test can ask for them by name."""

import pytest

from tests import factories


def _factory_fixture(factory_class):
    @pytest.fixture
    def fixture(db):
        return factory_class

    fixture.__doc__ = f"The {factory_class.__name__} class (database access enabled)."
    return fixture


user_factory = _factory_fixture(factories.UserFactory)
region_factory = _factory_fixture(factories.RegionFactory)
designation_factory = _factory_fixture(factories.DesignationFactory)
institution_factory = _factory_fixture(factories.InstitutionFactory)
catalogue_item_factory = _factory_fixture(factories.CatalogueItemFactory)
policy_version_factory = _factory_fixture(factories.PolicyVersionFactory)
policy_parameter_factory = _factory_fixture(factories.PolicyParameterFactory)


@pytest.fixture
def superuser(user_factory):
    return user_factory(username="root", superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


# Reference data, loaded once per test session (per xdist worker: each has its own database).
#
# Every test used to load the reference data itself (seconds per test). Now the session's
# database setup loads it once, committed, after the migrations: a test's transaction rolls
# back to it, so every database test finds both regions' policy, institutions, catalogues,
# case types and role groups (issue 10, item 6). Two kinds of test take it away:
# - a transactional test (transaction=True, live_server): Django empties every table after it.
#   The next database test reloads it before it starts (`_reference_data_present`).
# - a test that needs the tables empty (the loader's own tests, factory-made regions): it asks
#   for `empty_reference_data`, which empties them inside its transaction; the rollback puts
#   them back.


def _reference_data_load():
    import io

    from django.core.management import call_command

    call_command("load_reference_data", verbosity=0, stdout=io.StringIO())
    call_command("load_case_types", stdout=io.StringIO())
    call_command("setup_roles", stdout=io.StringIO())


def _reference_data_missing() -> bool:
    from claims.models import CaseType

    return not CaseType.objects.exists()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _reference_data_load()


@pytest.fixture
def _reference_data_present(django_db_setup, django_db_blocker):
    """Before a database test begins: reload the reference data if a transactional test emptied the tables."""
    with django_db_blocker.unblock():
        if _reference_data_missing():
            _reference_data_load()


# pytest-django's two database fixtures, each taking `_reference_data_present` first, so the
# reload happens before the test's transaction opens (and is not rolled back with it).
@pytest.fixture
def db(_reference_data_present, db):
    return db


@pytest.fixture
def transactional_db(_reference_data_present, transactional_db):
    return transactional_db


@pytest.fixture
def reference_data(db):
    """Both regions' reference data and policy, the case types and the role groups (loaded once per session)."""


@pytest.fixture
def empty_reference_data(db):
    """The reference tables emptied for this test only (its transaction's rollback restores them)."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    keep = {"contenttypes", "auth", "sessions", "admin", "django_celery_beat", "django_celery_results", "axes"}
    tables = [m._meta.db_table for m in apps.get_models(include_auto_created=True)
              if m._meta.app_label not in keep and not m._meta.proxy and m._meta.managed]
    tables += ["auth_group", "auth_group_permissions"]
    with connection.cursor() as cursor:
        for sql in connection.ops.sql_flush(no_style(), tables, allow_cascade=True):
            cursor.execute(sql)


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (scripts/test.sh), the browser tests run on one worker, with one Chromium."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("browser"))
