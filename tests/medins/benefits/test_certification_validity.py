"""Validity of certifications and approvals (DOMAIN.md §5), from the policy's parameters."""

import datetime as dt

import pytest

from medins.benefits.certification import valid_to
from medins.benefits.errors import MissingParameter

from .shipped import catalogue, snapshot

DAY = dt.date(2021, 4, 12)


def test_episodic_special_diseases_are_valid_90_days():
    """DOMAIN §5: SPD-011, 012, 013, 029, 036 — 90 days (the 90th day is the last)."""
    episodic = {code for (kind, code), e in catalogue("220100").items()
                if kind == "special_disease" and e.attributes.get("episodic")}
    assert episodic == {"SPD-011", "SPD-012", "SPD-013", "SPD-029", "SPD-036"}
    assert valid_to(snapshot("220100"), kind="special_disease", valid_from=DAY, episodic=True) == dt.date(2021, 7, 10)


def test_special_drug_approvals_end_on_31_december():
    """DOMAIN §5: special-drug approvals to 31 Dec of the approval year (both regions)."""
    for region in ("220100", "370100"):
        assert valid_to(snapshot(region), kind="special_drug", valid_from=DAY) == dt.date(2021, 12, 31)


@pytest.mark.parametrize("kind", ["chronic", "special_disease", "two_diseases"])
def test_the_others_are_open_ended_in_changchun(kind):
    assert valid_to(snapshot("220100"), kind=kind, valid_from=DAY) is None


def test_a_kind_jinan_does_not_name_is_a_missing_parameter():
    """Jinan has no special-disease scheme in the seeds."""
    with pytest.raises(MissingParameter) as exc:
        valid_to(snapshot("370100"), kind="special_disease", valid_from=DAY)
    assert exc.value.parameter == "certification.open_ended_kinds.special_disease"
