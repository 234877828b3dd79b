"""Fixtures of the enrollment tests: reference data, factories, users with permissions, policy snapshots."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Permission
from django.test import Client

from medins.benefits.policy import PolicySnapshot
from tests.enrollment import factories

POLICIES = Path(__file__).resolve().parents[2] / "medins" / "reference" / "policies"


def shipped_params(version: str) -> dict:
    """Every parameter shipped for a version folder, as the loader merges them."""
    params = {}
    for path in sorted((POLICIES / version).glob("*.yaml")):
        if path.name != "version.yaml":
            params.update({k: v["value"] for k, v in yaml.safe_load(path.read_text("utf-8"))["parameters"].items()})
    return params


@pytest.fixture(scope="session")
def changchun_policy() -> PolicySnapshot:
    """The shipped 220100-2021 parameters, no database (for the pure preview)."""
    return PolicySnapshot(region="220100", version="220100-2021", date=None, params=shipped_params("220100-2021"))


@pytest.fixture(scope="session")
def jinan_policy() -> PolicySnapshot:
    return PolicySnapshot(region="370100", version="370100-2021", date=None, params=shipped_params("370100-2021"))


@pytest.fixture
def changchun_2022(reference_data):
    """A 220100-2022 version with the 2021 contribution and category parameters (test data only):
    a payment in the October 2021 window buys 2022 and is priced by the 2022 policy (DOMAIN §1),
    which the shipped data does not have."""
    import datetime as dt

    from django.db.models import Q

    from medins.models import PolicyParameter, PolicyVersion, Region

    version = PolicyVersion.objects.create(region=Region.objects.get(code="220100"), code="220100-2022", title="test",
                                           effective_from=dt.date(2022, 1, 1), effective_to=dt.date(2022, 12, 31))
    PolicyParameter.objects.bulk_create(
        PolicyParameter(version=version, key=p.key, value=p.value)
        for p in PolicyParameter.objects.filter(Q(key__startswith="contribution.") | Q(key__startswith="category."),
                                                version__code="220100-2021"))
    return version


@pytest.fixture
def person_factory(reference_data):
    return factories.PersonFactory


@pytest.fixture
def school_factory(reference_data):
    return factories.SchoolFactory


@pytest.fixture
def make_user(db):
    """make_user("name", "enrollment.view_person", ...) -> a staff user with those permissions."""

    def make(username="clerk", *perms, superuser=False):
        user = factories.UserFactory(username=username, is_superuser=superuser)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user

    return make


@pytest.fixture
def clerk(make_user):
    """An intake clerk: every enrollment permission, including reveal_personal_data."""
    user = make_user("intake")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="enrollment"))
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="medins", codename__startswith="view_"))
    return user


@pytest.fixture
def viewer(make_user):
    """A reviewer: may view enrollment records but not see full ID numbers."""
    user = make_user("reviewer")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="enrollment", codename__startswith="view_"))
    return user


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def viewer_client(viewer):
    client = Client()  # its own session: a test may use clerk_client too
    client.force_login(viewer)
    return client
