"""Disability assessment scales of long-term care (照护保险), versioned (DOMAIN.md §7).

Pure Python (no ORM, no I/O): the carecare app (assessment form, assessment services) and the
engine's ``long_term_care`` benefit both import it.

Design
------
Two things are kept apart:

1. **The scale** (what the assessor records): a `Scale` is a versioned, immutable definition —
   its items, each item's allowed values, the labels — and turns the recorded item values into
   the scale's *result*. An assessment stores the scale ``version`` beside its item values, so
   an assessment keeps meaning what it meant when it was made.

   - ``barthel_changchun_2015`` (`BARTHEL`): the Barthel ADL scale (日常生活活动能力评定量表) of
     the 2015 Changchun scheme: ten items, result = their sum (0–100), ``kind = "score"``.

2. **The policy's mapping** from a scale result to a *benefit grade* (``severe`` / ``moderate``
   / none), read from the policy parameters in force on a date: for a score scale, the band table
   named by ``Scale.bands_parameter`` (``long_term_care.adl_grades``: ≤ 40 severe, 41–60
   moderate, anything else no grade).

The claim arithmetic (medins/benefits/long_term_care.py) only ever sees a benefit grade, so it
does not change when the scale does. Adding the 2021 national standard (医保办发〔2021〕37号:
ADL 10 items + cognition 4 + sensory/communication 3, grades 0–5 by a combination table) is:

- a second `Scale` with ``kind = "level"``, its 17 items, and a ``result`` that combines the three
  first-level indicators into the national grade 0–5 (the combination table is data of the
  scale version, to be transcribed from the official annex — it is not shipped here because the
  research found only unofficial reproductions);
- a policy parameter naming how that scale's levels map to benefit grades, e.g.
  ``long_term_care.grade_map.national_2021: {"3": severe, "4": severe, "5": severe, "2":
  moderate}`` (``Scale.grade_map_parameter``), read by `benefit_grade` below;
- on the engine side, the request's ``care`` object carrying that scale's result (e.g.
  ``care.scale`` + ``care.level``) beside the contract's ``care.adl_score``, which keeps meaning
  "a Barthel total". Nothing else in the engine changes: it asks `benefit_grade` for the grade.

``long_term_care.assessment_scale`` (a parameter) names the scale new assessments use on a
date (`scale_in_force`).

Use (carecare): ``sc = scale(assessment.scale_version); score = sc.score(item_values)`` (refuses a
bad item by name), then ``benefit_grade(policy_in_force(region=..., date=assessment_date),
sc.version, score)``; the form's choices are ``sc.item(code).choices()``, labels
``item.label.localized()``.

Decisions (DOMAIN.md §7 is silent):
- Item values are whole numbers; a value that is not one of the item's allowed values, a
  missing item and an unknown item are each refused naming the item (`ParseError`, field = the
  item code). Strings of digits ("10", as an HTML form posts them) are accepted.
- A Barthel total that no combination of item values can make (not a multiple of 5, above 100)
  is refused rather than banded (`check_score`).
- Bands are inclusive on both ends and may not overlap; a score outside every band has no grade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..messages import Msg
from ..parsing import ParseError, gettext_noop
from .errors import InvalidParameter
from .policy import PolicySnapshot

SEVERE = "severe"
MODERATE = "moderate"
# Benefit grades, most severe first (what the claim arithmetic sees). None = no grade.
BENEFIT_GRADES = (SEVERE, MODERATE)
GRADE_LABELS = {
    SEVERE: Msg(gettext_noop("Severely disabled")),
    MODERATE: Msg(gettext_noop("Moderately disabled")),
}
NO_GRADE_LABEL = Msg(gettext_noop("No disability grade"))

ASSESSMENT_SCALE = "long_term_care.assessment_scale"
ADL_GRADES = "long_term_care.adl_grades"


@dataclass(frozen=True, slots=True)
class ItemValue:
    value: int
    label: Msg  # English msgid; .localized() gives the active language (zh_Hans in the admin)


@dataclass(frozen=True, slots=True)
class ScaleItem:
    code: str
    label: Msg
    values: tuple[ItemValue, ...]  # allowed values, highest first

    @property
    def allowed(self) -> tuple[int, ...]:
        return tuple(v.value for v in self.values)

    @property
    def max_value(self) -> int:
        return self.values[0].value

    def choices(self) -> list[tuple[int, str]]:
        """(value, "10 — label") pairs in the active language, for a form's choice field."""
        return [(v.value, f"{v.value} — {v.label.localized()}") for v in self.values]


@dataclass(frozen=True, slots=True)
class Scale:
    """One version of an assessment scale. ``kind`` is "score" (result = sum of the items,
    banded by the policy) or "level" (result = a grade of the scale, mapped by the policy)."""

    version: str
    title: Msg
    items: tuple[ScaleItem, ...]
    kind: str = "score"
    bands_parameter: str | None = None  # kind "score": the policy's band table
    grade_map_parameter: str | None = None  # kind "level": the policy's level -> benefit grade map
    _by_code: dict = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self):
        object.__setattr__(self, "_by_code", {item.code: item for item in self.items})

    @property
    def max_score(self) -> int:
        return sum(item.max_value for item in self.items)

    def item(self, code: str) -> ScaleItem:
        return self._by_code[code]

    def validate(self, values: Mapping[str, Any]) -> dict[str, int]:
        """The item values as {code: int} in the scale's item order, or ParseError naming the
        first bad item (unknown items first, then the items in scale order)."""
        if not isinstance(values, Mapping):
            raise ParseError("items", Msg(gettext_noop("must be a mapping of item to value")))
        unknown = sorted(str(k) for k in values if k not in self._by_code)
        if unknown:
            raise ParseError(unknown[0], Msg(gettext_noop("is not an item of scale %(scale)s"), scale=self.version))
        out = {}
        for item in self.items:
            raw = values.get(item.code)
            value = _whole(raw)
            if value is None:
                if raw is None or raw == "":
                    raise ParseError(item.code, Msg(gettext_noop("is required")))
                raise ParseError(item.code, Msg(gettext_noop("must be a whole number, not %(value)s"), value=repr(raw)))
            if value not in item.allowed:
                raise ParseError(
                    item.code,
                    Msg(gettext_noop("must be one of %(allowed)s, not %(value)s"),
                        allowed=[str(v) for v in item.allowed], value=str(value)),
                )
            out[item.code] = value
        return out

    def score(self, values: Mapping[str, Any]) -> int:
        """The total of the validated item values (kind "score")."""
        return sum(self.validate(values).values())

    def possible_scores(self) -> frozenset[int]:
        totals = {0}
        for item in self.items:
            totals = {t + v for t in totals for v in item.allowed}
        return frozenset(totals)

    def check_score(self, score: Any, field_name: str = "adl_score") -> int:
        """A total given on its own (the quote request's care.adl_score): a whole number that the
        items can add up to, else ParseError naming `field_name`."""
        if type(score) is not int or score not in _possible(self):
            raise ParseError(
                field_name,
                Msg(gettext_noop("must be a total of scale %(scale)s (0 to %(max)s in its steps), not %(value)s"),
                    scale=self.version, max=str(self.max_score), value=repr(score)),
            )
        return score


_POSSIBLE: dict[str, frozenset[int]] = {}


def _possible(scale: Scale) -> frozenset[int]:
    try:
        return _POSSIBLE[scale.version]
    except KeyError:
        value = _POSSIBLE[scale.version] = scale.possible_scores()
        return value


def _whole(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 4:
        return int(value)
    return None


# --------------------------------------------------------------------------- Barthel (2015)

_INDEPENDENT = gettext_noop("Independent")
_SOME_HELP = gettext_noop("Needs some help")
_MUCH_HELP = gettext_noop("Needs a lot of help")
_DEPENDENT = gettext_noop("Fully dependent")
_MUCH_HELP_OR_DEPENDENT = gettext_noop("Needs a lot of help or fully dependent")
_NEEDS_HELP = gettext_noop("Needs help")
_CONTINENT = gettext_noop("Continent")
_OCCASIONAL = gettext_noop("Occasional accidents")
_INCONTINENT = gettext_noop("Incontinent")


def _item(code: str, label: str, *values: tuple[int, str]) -> ScaleItem:
    return ScaleItem(code, Msg(label), tuple(ItemValue(v, Msg(text)) for v, text in values))


BARTHEL = Scale(
    version="barthel_changchun_2015",
    title=Msg(gettext_noop("Barthel activities of daily living scale")),
    kind="score",
    bands_parameter=ADL_GRADES,
    items=(
        _item("feeding", gettext_noop("Feeding"), (10, _INDEPENDENT), (5, _SOME_HELP), (0, _MUCH_HELP_OR_DEPENDENT)),
        _item("bathing", gettext_noop("Bathing"), (5, _INDEPENDENT), (0, _NEEDS_HELP)),
        _item("grooming", gettext_noop("Grooming"), (5, _INDEPENDENT), (0, _NEEDS_HELP)),
        _item("dressing", gettext_noop("Dressing"), (10, _INDEPENDENT), (5, _SOME_HELP), (0, _MUCH_HELP_OR_DEPENDENT)),
        _item("bowels", gettext_noop("Bowel control"), (10, _CONTINENT), (5, _OCCASIONAL), (0, _INCONTINENT)),
        _item("bladder", gettext_noop("Bladder control"), (10, _CONTINENT), (5, _OCCASIONAL), (0, _INCONTINENT)),
        _item("toilet", gettext_noop("Toilet use"), (10, _INDEPENDENT), (5, _SOME_HELP), (0, _MUCH_HELP_OR_DEPENDENT)),
        _item("transfer", gettext_noop("Bed-chair transfer"), (15, _INDEPENDENT), (10, _SOME_HELP), (5, _MUCH_HELP),
              (0, _DEPENDENT)),
        _item("walking", gettext_noop("Walking 45 m on level ground"), (15, _INDEPENDENT), (10, _SOME_HELP),
              (5, _MUCH_HELP), (0, _DEPENDENT)),
        _item("stairs", gettext_noop("Going up and down stairs"), (10, _INDEPENDENT), (5, _SOME_HELP),
              (0, _MUCH_HELP_OR_DEPENDENT)),
    ),
)

SCALES: dict[str, Scale] = {BARTHEL.version: BARTHEL}


def scale(version: str) -> Scale:
    """The scale of an assessment by its stored version; KeyError names an unknown version."""
    try:
        return SCALES[version]
    except KeyError:
        raise KeyError(f"unknown assessment scale version {version!r} (known: {', '.join(sorted(SCALES))})") from None


def scale_in_force(policy: PolicySnapshot) -> Scale:
    """The scale new assessments use under this policy (``long_term_care.assessment_scale``)."""
    version = policy.get(ASSESSMENT_SCALE)
    if type(version) is not str or version not in SCALES:
        raise InvalidParameter(ASSESSMENT_SCALE, policy.region, policy.date,
                               f"expected one of {', '.join(sorted(SCALES))}, got {version!r}")
    return SCALES[version]


# --------------------------------------------------------------------------- policy: result -> grade

Band = tuple[int, int, str]  # (min, max inclusive, benefit grade)


def bands(policy: PolicySnapshot, key: str = ADL_GRADES) -> tuple[Band, ...]:
    """The policy's band table [{grade, min, max}, ...], checked: whole-number bounds, min ≤ max,
    known benefit grades, no overlap. Built once per policy cache."""

    def build():
        rows = policy.get(key)
        if type(rows) is not list or not rows:
            raise InvalidParameter(key, policy.region, policy.date, "expected a non-empty list of {grade, min, max}")
        out = []
        for i, row in enumerate(rows):
            where = f"{key}[{i}]"
            if type(row) is not dict or set(row) != {"grade", "min", "max"}:
                raise InvalidParameter(where, policy.region, policy.date, "expected {grade, min, max}")
            grade, low, high = row["grade"], _int(row["min"]), _int(row["max"])
            if grade not in BENEFIT_GRADES:
                raise InvalidParameter(f"{where}.grade", policy.region, policy.date,
                                       f"expected one of {', '.join(BENEFIT_GRADES)}, got {grade!r}")
            if low is None or high is None or low > high:
                raise InvalidParameter(where, policy.region, policy.date, "expected whole-number bounds with min <= max")
            for other_low, other_high, _ in out:
                if low <= other_high and other_low <= high:
                    raise InvalidParameter(where, policy.region, policy.date, "bands overlap")
            out.append((low, high, grade))
        return tuple(out)

    return policy.memo(("care_bands", key), build)


def _int(value: Any) -> int | None:
    # Parameters arrive as Decimal (PolicySnapshot.get); a fraction is refused.
    try:
        if value == int(value):
            return int(value)
    except (TypeError, ValueError, ArithmeticError):
        pass
    return None


def grade_for_score(table: tuple[Band, ...], score: int) -> str | None:
    """The benefit grade of a score under a band table; None outside every band."""
    for low, high, grade in table:
        if low <= score <= high:
            return grade
    return None


def benefit_grade(policy: PolicySnapshot, scale_version: str, result: int | None) -> str | None:
    """The benefit grade (``severe``, ``moderate`` or None) of an assessment result under the
    policy in force: a score scale through its band table, a level scale through its grade map.
    ``result`` None (no assessment) is no grade."""
    if result is None:
        return None
    sc = scale(scale_version)
    if sc.kind == "score":
        return grade_for_score(bands(policy, sc.bands_parameter), result)
    if sc.kind == "level":
        grade = policy.lookup(sc.grade_map_parameter, sc.version, str(result))
        if grade is not None and grade not in BENEFIT_GRADES:
            raise InvalidParameter(f"{sc.grade_map_parameter}.{sc.version}.{result}", policy.region, policy.date,
                                   f"expected one of {', '.join(BENEFIT_GRADES)} or null, got {grade!r}")
        return grade
    raise ValueError(f"scale {sc.version} has an unknown kind {sc.kind!r}")


def grade_label(grade: str | None) -> Msg:
    return NO_GRADE_LABEL if grade is None else GRADE_LABELS[grade]
