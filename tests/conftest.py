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
