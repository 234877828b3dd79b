"""The demo holds findings to try (issue 15 'Done when'): a split admission, a bed-holding stay and a
duplicate bed charge at 吉林大学第一医院, a grey-listed person; running it again adds nothing."""

import pytest

from claims.services.cases import system_user
from claims.supervision.demo import supervision_demo_ensure
from claims.supervision.models import Finding, GreyListEntry

pytestmark = pytest.mark.django_db


def test_demo_findings_and_idempotent(reference_data):
    first = supervision_demo_ensure(acting_user=system_user())
    assert first["cases_created"] == 3
    rules = set(Finding.objects.values_list("rule", flat=True))
    assert {"split_admission", "bed_holding", "duplicate_charge"} <= rules
    assert Finding.objects.get(rule="bed_holding").institution.code == "CC-H-001"
    assert GreyListEntry.objects.count() == 1
    again = supervision_demo_ensure(acting_user=system_user())
    assert (again["cases_created"], again["findings_new"]) == (0, 0)
