"""The demo holds findings to try (issue 15 'Done when'): a split admission, a bed-holding stay and a
duplicate bed charge at 吉林大学第一医院, a grey-listed person; running it again adds nothing."""

import pytest

from claims.services.cases import system_user
from claims.supervision.demo import supervision_demo_ensure
from claims.supervision.models import Finding, GreyListEntry

pytestmark = pytest.mark.django_db


def test_demo_findings_and_idempotent(reference_data):
    first = supervision_demo_ensure(acting_user=system_user())
    assert (first["cases_created"], first["stays_created"]) == (3, 2)
    rules = set(Finding.objects.values_list("rule", flat=True))
    assert {"split_admission", "bed_holding", "duplicate_charge"} <= rules
    # the manual claim's bed-holding at 吉大一院, the direct stay's at 吉大二院 (owed by the hospital)
    bed_holding = {f.institution.code: f for f in Finding.objects.filter(rule="bed_holding")}
    assert set(bed_holding) == {"CC-H-001", "CC-H-002"}
    direct = bed_holding["CC-H-002"].settlements.get()
    assert (direct.kind, direct.via) == ("inpatient_stay", "direct")
    assert GreyListEntry.objects.count() == 1
    again = supervision_demo_ensure(acting_user=system_user())
    assert (again["cases_created"], again["stays_created"], again["findings_new"]) == (0, 0, 0)
