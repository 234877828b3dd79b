"""factory_boy factories of the enrollment app (regions come from load_reference_data)."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from enrollment.idnumber import make_id_number
from enrollment.models import Person, School, SchoolKind
from medins.models import Region


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    region = factory.LazyFunction(lambda: Region.objects.get(code="220100"))
    code = factory.Sequence(lambda n: f"SCH{n:05d}")
    name = factory.Sequence(lambda n: f"学校{n}")
    kind = SchoolKind.PRIMARY_SECONDARY


class PersonFactory(factory.django.DjangoModelFactory):
    """A person; pass birth_date= (and area=) to choose the ID number's birth date."""

    class Meta:
        model = Person
        exclude = ("birth", "area", "seq")

    birth = dt.date(1990, 1, 1)
    area = "220102"
    seq = factory.Sequence(lambda n: n % 1000)
    id_number = factory.LazyAttribute(lambda o: make_id_number(o.area, o.birth, o.seq))
    name = factory.Sequence(lambda n: f"参保人{n}")
    region = factory.LazyAttribute(lambda o: Region.objects.get(code="370100" if o.area.startswith("37") else "220100"))
    community = "南关区永吉街道"
    phone = "13904310000"
    bank_account = "6222020200112345678"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"clerk{n}")
    is_staff = True
