"""The assessment scale as carecare uses it — an adapter.

INTERIM: the pure Barthel scale module is being written on branch h-ltc (items, allowed values,
score, grade from the policy's bands). Until it is merged this adapter holds the DOMAIN.md §7
item list itself; after the merge it delegates to that module and keeps only the calls carecare
makes (``ITEMS``, ``validate``, ``score``, ``grade_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

BARTHEL = "barthel_changchun_2015"
DEFAULT_SCALE = BARTHEL


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    values: tuple[int, ...]  # allowed values, best first


# DOMAIN.md §7: the ten Barthel ADL items and their allowed values.
ITEMS: tuple[Item, ...] = (
    Item("feeding", _("Feeding"), (10, 5, 0)),
    Item("bathing", _("Bathing"), (5, 0)),
    Item("grooming", _("Grooming"), (5, 0)),
    Item("dressing", _("Dressing"), (10, 5, 0)),
    Item("bowels", _("Bowels"), (10, 5, 0)),
    Item("bladder", _("Bladder"), (10, 5, 0)),
    Item("toilet", _("Toilet use"), (10, 5, 0)),
    Item("transfer", _("Bed–chair transfer"), (15, 10, 5, 0)),
    Item("walking", _("Walking 45 m"), (15, 10, 5, 0)),
    Item("stairs", _("Stairs"), (10, 5, 0)),
)
ITEM_CODES = tuple(i.code for i in ITEMS)


class ScaleError(ValueError):
    def __init__(self, message: str, *, item: str | None = None):
        super().__init__(message)
        self.item = item


def items_of(version: str) -> tuple[Item, ...]:
    if version != BARTHEL:
        raise ScaleError(f"unknown assessment scale {version!r}")
    return ITEMS


def validate(version: str, items: Mapping[str, object]) -> dict[str, int]:
    """The items as ints, each checked against its allowed values; a missing, unknown or
    out-of-range item raises ScaleError naming it."""
    scale = items_of(version)
    known = {i.code for i in scale}
    for code in items:
        if code not in known:
            raise ScaleError(f"{code}: not an item of the scale", item=code)
    out = {}
    for item in scale:
        if item.code not in items or items[item.code] in (None, ""):
            raise ScaleError(f"{item.code}: missing", item=item.code)
        raw = items[item.code]
        try:
            value = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            value = None
        if value is None or value not in item.values:
            allowed = "/".join(str(v) for v in item.values)
            raise ScaleError(f"{item.code}: {raw!r} is not one of {allowed}", item=item.code)
        out[item.code] = value
    return out


def score(version: str, items: Mapping[str, object]) -> int:
    return sum(validate(version, items).values())


def grade_of(score_: int, bands: list[Mapping]) -> str | None:
    """The grade whose band (min and max inclusive) holds the score; None outside every band."""
    for band in bands:
        if Decimal(str(band["min"])) <= score_ <= Decimal(str(band["max"])):
            return str(band["grade"])
    return None
