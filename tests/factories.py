"""factory_boy factories for the core models (registered as fixtures in tests/conftest.py)."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from medins.models import (
    CatalogueItem,
    CatalogueKind,
    Designation,
    Institution,
    InstitutionKind,
    InstitutionLevel,
    PolicyParameter,
    PolicyVersion,
    Region,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    is_staff = True
    password = factory.django.Password("secret-pass-1")

    class Params:
        superuser = factory.Trait(is_superuser=True, is_staff=True)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"{990000 + n}")
    name = factory.Sequence(lambda n: f"测试市{n}")


class DesignationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Designation
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"designation_{n}")
    name = factory.Sequence(lambda n: f"定点资格{n}")


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        skip_postgeneration_save = True

    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"T-H-{n:04d}")
    name = factory.Sequence(lambda n: f"测试医院{n}")
    short_name = factory.Sequence(lambda n: f"测医{n}")
    kind = InstitutionKind.HOSPITAL
    level = InstitutionLevel.SECONDARY

    @factory.post_generation
    def designations(self, create, extracted, **kwargs):
        if create and extracted:
            self.designations.set(extracted)


class CatalogueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogueItem

    region = factory.SubFactory(RegionFactory)
    kind = CatalogueKind.SPECIAL_DISEASE
    code = factory.Sequence(lambda n: f"T-{n:04d}")
    name = factory.Sequence(lambda n: f"测试病种{n}")
    attributes = factory.LazyFunction(dict)


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyVersion

    region = factory.SubFactory(RegionFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.region.code}-{o.effective_from.year}-{n}")
    title = factory.LazyAttribute(lambda o: f"{o.region.name} {o.effective_from.year}年度待遇政策")
    effective_from = dt.date(2021, 1, 1)
    effective_to = dt.date(2021, 12, 31)


class PolicyParameterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyParameter

    version = factory.SubFactory(PolicyVersionFactory)
    key = factory.Sequence(lambda n: f"test.parameter_{n}")
    value = "0.50"
    loaded_value = factory.SelfAttribute("value")
    description = factory.Sequence(lambda n: f"测试参数{n}")
