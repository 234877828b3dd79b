"""The grey list in monthly care claims (issue 15 item 4; contracts/fund-security.md grey_list, block):
a grey-listed resident's days inside the suspension are refused with the reason grey_list (Chinese in
the catalogue); the days after it are paid."""

import pytest
from django.utils import translation

from carecare.claim_checks import REASONS
from carecare.services.claims import care_claim_receive
from claims.supervision.models import GreyListEntry

from .claim_helpers import JUNE, D, entry, resident_in

pytestmark = pytest.mark.django_db


def test_grey_listed_days_are_refused_and_the_rest_paid(home, home_operator, intake):
    listed = resident_in(home, user=intake, score=35)
    other = resident_in(home, user=intake, score=35)
    GreyListEntry.objects.create(person=listed, from_date=D(2021, 5, 1), to_date=D(2021, 6, 10), reason="骗保",
                                 created_by=intake)
    claim, _ = care_claim_receive(acting_user=home_operator, care_home=home, month=JUNE,
                                  residents=[entry(listed), entry(other)])
    line = claim.lines.get(person=listed)
    refused = {d["date"][-2:]: d["refused"] for d in line.days if d.get("refused")}
    assert refused == {f"{d:02d}": "grey_list" for d in range(1, 11)}
    assert line.days_paid == 20
    assert claim.lines.get(person=other).days_refused == 0
    with translation.override("zh-hans"):
        assert "灰名单" in str(REASONS["grey_list"])
