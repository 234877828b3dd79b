"""Loading the shipped reference data (``medins/reference/``) into the database.

``reference_data_load`` reads and validates every file first, then applies them in one
transaction. It is idempotent (a second run saves nothing, so it writes no history rows either)
and never silently overwrites a clerk's edit:

- regions, designations, institutions, catalogue items and policy versions: missing rows are
  created; an existing row is left untouched. When it differs from the file it is counted as
  "kept" and reported, so a clerk can compare it with the shipped data;
- policy parameters carry ``loaded_value`` (the value as last shipped). A new key is created
  with ``value = loaded_value = file``. An existing parameter whose ``value`` still equals its
  ``loaded_value`` was not edited locally, so a changed file value (a shipped correction)
  updates both. A parameter whose ``value`` differs from ``loaded_value`` was edited by a clerk:
  it is kept as it is and reported ("kept local edit of …").

- fields added to the files after the rows were first loaded (an institution's ``township``, a
  catalogue item's ``aliases``, ``valid_from``, ``valid_to``) are filled in on an existing row
  that still holds the field's default (counted as "updated"); a value a clerk set is kept.

Catalogue items: a code, name or alias names one item of a region's catalogue kind on any day
(two items valid on the same day may not share one), so the resolver
(``medins.selectors.catalogue_items_resolve``) is never ambiguous.

Every row saved gets the history change reason ``load_reference_data``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from ..models import (
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

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
CHANGE_REASON = "load_reference_data"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+$")


class ReferenceDataError(Exception):
    """A reference data file is invalid; the message names the file (and the entry)."""


# --------------------------------------------------------------------------- reading files


# libyaml's C parser when present: the pure-Python one made every load take half a second.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):
    """Safe YAML loader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, base_dir: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{_rel(path, base_dir)}: invalid YAML: {exc}") from exc


def _rel(path: Path, base_dir: Path) -> str:
    try:
        return str(path.relative_to(base_dir))
    except ValueError:
        return str(path)


class ParameterValueError(ReferenceDataError):
    """One value refused by the checks below: where, and why (an English message id the admin translates)."""

    def __init__(self, where: str, message: str, **params):
        self.where, self.message, self.params = where, message, params
        super().__init__(f"{where}: {message % params}")

    def translated(self) -> str:
        return f"{self.where}: {gettext(self.message) % self.params}"


def _check_json_value(value: Any, where: str) -> None:
    """Policy values and attributes are JSON; amounts must be quoted strings, never floats."""
    if isinstance(value, float):
        raise ParameterValueError(where, gettext_noop("%(value)r is a YAML float; write amounts and rates as quoted strings"),
                                  value=value)
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ParameterValueError(where, gettext_noop("mapping key %(key)r must be a string (quote it)"), key=k)
            _check_json_value(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json_value(v, f"{where}[{i}]")
    elif not (value is None or isinstance(value, (str, int, bool))):
        raise ParameterValueError(where, gettext_noop("%(value)r is not a JSON value (quote dates)"), value=value)


def _is_number(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value.strip()).is_finite() and value == value.strip()
    except ArithmeticError:
        return False


def _check_shape(value: Any, shipped: Any, where: str) -> None:
    """`value` has the shape of the shipped value: the same JSON types, every shipped key present,
    each list item shaped like the shipped items, a number (as a string) where one was shipped."""
    _check_shape_of_any(value, [shipped], where)


def _check_shape_of_any(value: Any, models: list, where: str) -> None:
    """`value` shaped like the models (the shipped value, or the items of a shipped list, merged):
    a mapping has every key all of them have, each key shaped like that key's shipped values."""
    if models and all(isinstance(m, dict) for m in models):
        if not isinstance(value, dict):
            raise ParameterValueError(where, gettext_noop("expected a mapping, as shipped"))
        for k in models[0]:
            if k not in value and all(k in m for m in models):
                raise ParameterValueError(where, gettext_noop("%(key)s is missing (the shipped value has it)"), key=k)
        for k, v in value.items():
            shipped = [m[k] for m in models if k in m]
            if shipped:
                _check_shape_of_any(v, shipped, f"{where}.{k}")
        return
    if models and all(isinstance(m, list) for m in models):
        if not isinstance(value, list):
            raise ParameterValueError(where, gettext_noop("expected a list, as shipped"))
        items = [item for m in models for item in m]
        if items:
            for i, item in enumerate(value):
                _check_shape_of_any(item, items, f"{where}[{i}]")
        return
    first = None
    for model in models:
        try:
            _check_scalar(value, model, where)
            return
        except ParameterValueError as exc:
            first = first or exc
    if first is not None:
        raise first


def _check_scalar(value: Any, shipped: Any, where: str) -> None:
    if isinstance(shipped, (dict, list)):
        _check_shape_of_any(value, [shipped], where)
    elif isinstance(shipped, bool):
        if not isinstance(value, bool):
            raise ParameterValueError(where, gettext_noop("expected true or false, as shipped"))
    elif isinstance(shipped, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterValueError(where, gettext_noop("expected a whole number, as shipped"))
    elif shipped is None or _is_number(shipped):
        # A number (a quoted decimal string); null where the shipped value has null (an open band).
        if not (_is_number(value) or (shipped is None and value is None)):
            raise ParameterValueError(where, gettext_noop("expected a number written as a string (e.g. \"320\" or \"0.55\"), "
                                                          "got %(value)s"), value=json.dumps(value, ensure_ascii=False))
    elif isinstance(shipped, str) and not isinstance(value, str):
        raise ParameterValueError(where, gettext_noop("expected text, as shipped"))


KEY_FORM = gettext_noop("a key is 'benefit.name' in lower case (e.g. outpatient_pool.rate)")


def check_parameter(key: Any, value: Any, *, shipped: Any = None, where: str | None = None) -> None:
    """The checks of one policy parameter, for the loader and for a clerk's edit in the admin alike:
    the key's form, a JSON value without floats and, for a parameter shipped in the files, the
    shape of its shipped value. Raises ParameterValueError naming the place."""
    where = where or str(key)
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ParameterValueError(where, KEY_FORM)
    _check_json_value(value, where)
    if shipped is not None:
        _check_shape(value, shipped, where)


def _require(mapping: Any, keys: Iterable[str], where: str, optional: Iterable[str] = ()) -> dict:
    if not isinstance(mapping, dict):
        raise ReferenceDataError(f"{where}: expected a mapping")
    keys, optional = set(keys), set(optional)
    missing = keys - mapping.keys()
    if missing:
        raise ReferenceDataError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = mapping.keys() - keys - optional
    if unknown:
        raise ReferenceDataError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    return mapping


def _list_of(mapping: dict, key: str, where: str) -> list:
    value = mapping.get(key)
    if not isinstance(value, list):
        raise ReferenceDataError(f"{where}: '{key}' must be a list")
    return value


@dataclass
class ReferenceData:
    regions: dict[str, dict] = field(default_factory=dict)  # code -> fields
    designations: dict[str, dict] = field(default_factory=dict)
    institutions: dict[tuple[str, str], dict] = field(default_factory=dict)  # (region, code) -> fields
    catalogue: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (region, kind, code)
    versions: dict[str, dict] = field(default_factory=dict)  # code -> fields
    parameters: dict[str, dict[str, dict]] = field(default_factory=dict)  # version -> key -> entry


def reference_data_read(*, base_dir: Path | str | None = None) -> ReferenceData:
    """Read and validate every reference file; raises ReferenceDataError naming the file."""
    base = Path(base_dir) if base_dir else REFERENCE_DIR
    if not base.is_dir():
        raise ReferenceDataError(f"{base}: no such directory")
    data = ReferenceData()
    _read_regions(data, base)
    _read_designations(data, base)
    _read_institutions(data, base)
    _read_catalogues(data, base)
    _read_policies(data, base)
    return data


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{where}: expected a non-empty string (quote numeric codes), got {value!r}")
    return value.strip()


def _read_regions(data: ReferenceData, base: Path) -> None:
    path = base / "regions.yaml"
    doc = _require(_read_yaml(path, base), ["regions"], _rel(path, base))
    for i, row in enumerate(_list_of(doc, "regions", _rel(path, base))):
        where = f"{_rel(path, base)}: regions[{i}]"
        _require(row, ["code", "name"], where)
        code = _str(row["code"], f"{where}.code")
        if code in data.regions:
            raise ReferenceDataError(f"{where}: region {code} listed twice")
        data.regions[code] = {"name": _str(row["name"], f"{where}.name")}


def _read_designations(data: ReferenceData, base: Path) -> None:
    path = base / "designations.yaml"
    doc = _require(_read_yaml(path, base), ["designations"], _rel(path, base))
    for i, row in enumerate(_list_of(doc, "designations", _rel(path, base))):
        where = f"{_rel(path, base)}: designations[{i}]"
        _require(row, ["code", "name"], where)
        code = _str(row["code"], f"{where}.code")
        if code in data.designations:
            raise ReferenceDataError(f"{where}: designation {code} listed twice")
        data.designations[code] = {"name": _str(row["name"], f"{where}.name")}


def _region_of(doc: dict, data: ReferenceData, where: str) -> str:
    region = _str(doc.get("region"), f"{where}: region")
    if region not in data.regions:
        raise ReferenceDataError(f"{where}: region {region} is not in regions.yaml")
    return region


def _read_institutions(data: ReferenceData, base: Path) -> None:
    kinds, levels = set(InstitutionKind.values), set(InstitutionLevel.values)
    for path in sorted((base / "institutions").glob("*.yaml")):
        rel = _rel(path, base)
        doc = _require(_read_yaml(path, base), ["region", "institutions"], rel)
        region = _region_of(doc, data, rel)
        for i, row in enumerate(_list_of(doc, "institutions", rel)):
            where = f"{rel}: institutions[{i}]"
            _require(row, ["code", "name", "kind", "level"], where,
                     optional=["short_name", "designations", "notes", "township"])
            code = _str(row["code"], f"{where}.code")
            if (region, code) in data.institutions:
                raise ReferenceDataError(f"{where}: institution {code} listed twice for region {region}")
            if row["kind"] not in kinds:
                raise ReferenceDataError(f"{where} ({code}): unknown kind {row['kind']!r}")
            if row["level"] not in levels:
                raise ReferenceDataError(f"{where} ({code}): unknown level {row['level']!r}")
            designations = row.get("designations") or []
            unknown = [d for d in designations if d not in data.designations]
            if unknown:
                raise ReferenceDataError(f"{where} ({code}): unknown designation(s) {', '.join(map(str, unknown))}")
            township = row.get("township", False)
            if not isinstance(township, bool):
                raise ReferenceDataError(f"{where} ({code}): township must be true or false")
            if township and row["level"] != InstitutionLevel.PRIMARY:
                raise ReferenceDataError(f"{where} ({code}): a township health centre is a primary-level institution")
            data.institutions[(region, code)] = {
                "name": _str(row["name"], f"{where}.name"),
                "short_name": (row.get("short_name") or "").strip(),
                "kind": row["kind"],
                "level": row["level"],
                "township": township,
                "notes": (row.get("notes") or "").strip(),
                "designations": frozenset(designations),
            }


def _read_catalogues(data: ReferenceData, base: Path) -> None:
    kinds = set(CatalogueKind.values)
    for path in sorted((base / "catalogues").glob("*.yaml")):
        rel = _rel(path, base)
        doc = _require(_read_yaml(path, base), ["region", "items"], rel)
        region = _region_of(doc, data, rel)
        if not isinstance(doc["items"], dict):
            raise ReferenceDataError(f"{rel}: 'items' must map a catalogue kind to a list of items")
        for kind, rows in doc["items"].items():
            if kind not in kinds:
                raise ReferenceDataError(f"{rel}: unknown catalogue kind {kind!r}")
            if not isinstance(rows, list):
                raise ReferenceDataError(f"{rel}: items.{kind} must be a list")
            for i, row in enumerate(rows):
                where = f"{rel}: items.{kind}[{i}]"
                _require(row, ["code", "name"], where, optional=["group", "attributes", "aliases", "valid_from", "valid_to"])
                code = _str(row["code"], f"{where}.code")
                if (region, kind, code) in data.catalogue:
                    raise ReferenceDataError(f"{where}: {kind} item {code} listed twice for region {region}")
                attributes = row.get("attributes") or {}
                if not isinstance(attributes, dict):
                    raise ReferenceDataError(f"{where} ({code}): attributes must be a mapping")
                _check_json_value(attributes, f"{where} ({code}) attributes")
                aliases = row.get("aliases") or []
                if not isinstance(aliases, list):
                    raise ReferenceDataError(f"{where} ({code}): aliases must be a list of names")
                aliases = [_str(a, f"{where} ({code}) aliases[{j}]") for j, a in enumerate(aliases)]
                valid_from = _date(row.get("valid_from"), f"{where} ({code}) valid_from", required=False)
                valid_to = _date(row.get("valid_to"), f"{where} ({code}) valid_to", required=False)
                if valid_from and valid_to and valid_to < valid_from:
                    raise ReferenceDataError(f"{where} ({code}): valid_to is before valid_from")
                data.catalogue[(region, kind, code)] = {
                    "name": _str(row["name"], f"{where}.name"),
                    "group": (row.get("group") or "").strip(),
                    "attributes": attributes,
                    "aliases": aliases,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                }
    _check_catalogue_names(data)


def _overlap(a: tuple, b: tuple) -> bool:
    """Two validity ranges (from, to; None open) share a day."""
    return (a[1] is None or b[0] is None or b[0] <= a[1]) and (b[1] is None or a[0] is None or a[0] <= b[1])


def _check_catalogue_names(data: ReferenceData) -> None:
    """A code, name or alias names one item of a region's catalogue kind on any date: two items
    valid on the same day may not share one (the alias resolver would not know which is meant)."""
    seen: dict[tuple[str, str, str], list[tuple[str, tuple]]] = {}
    for (region, kind, code), row in data.catalogue.items():
        span = (row["valid_from"], row["valid_to"])
        for label in dict.fromkeys([code, row["name"], *row["aliases"]]):
            for other, other_span in seen.get((region, kind, label), []):
                if _overlap(span, other_span):
                    raise ReferenceDataError(
                        f"catalogues/{region}.yaml: items.{kind}: {label!r} names both {other} and {code} "
                        "on the same dates (an alias must name one item)"
                    )
            seen.setdefault((region, kind, label), []).append((code, span))


def _date(value: Any, where: str, *, required: bool) -> dt.date | None:
    if value is None and not required:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ReferenceDataError(f"{where}: expected a date YYYY-MM-DD, got {value!r}")


def _read_policies(data: ReferenceData, base: Path) -> None:
    for folder in sorted(p for p in (base / "policies").iterdir() if p.is_dir()):
        version_path = folder / "version.yaml"
        if not version_path.exists():
            raise ReferenceDataError(f"{_rel(folder, base)}: no version.yaml")
        rel = _rel(version_path, base)
        doc = _require(
            _read_yaml(version_path, base),
            ["region", "code", "title", "effective_from"],
            rel,
            optional=["effective_to", "source"],
        )
        code = _str(doc["code"], f"{rel}: code")
        if code != folder.name:
            raise ReferenceDataError(f"{rel}: code {code} differs from its folder name {folder.name}")
        effective_from = _date(doc["effective_from"], f"{rel}: effective_from", required=True)
        effective_to = _date(doc.get("effective_to"), f"{rel}: effective_to", required=False)
        if effective_to and effective_to < effective_from:
            raise ReferenceDataError(f"{rel}: effective_to is before effective_from")
        data.versions[code] = {
            "region": _region_of(doc, data, rel),
            "title": _str(doc["title"], f"{rel}: title"),
            "effective_from": effective_from,
            "effective_to": effective_to,
            "source": (doc.get("source") or "").strip(),
        }
        params: dict[str, dict] = {}
        origin: dict[str, str] = {}
        for path in sorted(folder.glob("*.yaml")):
            if path.name == "version.yaml":
                continue
            prel = _rel(path, base)
            pdoc = _require(_read_yaml(path, base), ["parameters"], prel)
            if not isinstance(pdoc["parameters"], dict):
                raise ReferenceDataError(f"{prel}: 'parameters' must be a mapping of key to entry")
            for key, entry in pdoc["parameters"].items():
                where = f"{prel}: {key}"
                if key in params:
                    raise ReferenceDataError(
                        f"parameter {key} of version {code} is defined twice: in {origin[key]} and in {prel}"
                    )
                _require(entry, ["value"], where, optional=["description", "source"])
                check_parameter(key, entry["value"], where=where)
                params[key] = {
                    "value": entry["value"],
                    "description": (entry.get("description") or "").strip(),
                    "source": (entry.get("source") or "").strip(),
                }
                origin[key] = prel
        data.parameters[code] = params


# --------------------------------------------------------------------------- applying


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0

    def __str__(self):
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.kept} kept"


@dataclass
class LoadReport:
    counts: dict[str, Counts] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # one line per row kept as edited locally
    notices: list[str] = field(default_factory=list)

    def count(self, what: str) -> Counts:
        return self.counts.setdefault(what, Counts())

    def lines(self) -> list[str]:
        return [f"{what}: {counts}" for what, counts in self.counts.items()]

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())


def _save(obj, acting_user, **kwargs) -> None:
    obj._change_reason = CHANGE_REASON
    obj._history_user = acting_user
    obj.save(**kwargs)


def _differences(obj, wanted: dict) -> list[str]:
    return [name for name, value in wanted.items() if getattr(obj, name) != value]


# Fields added to the files after rows were first loaded: an existing row still holding the
# field's default gets the file's value (counted as updated) instead of being reported as a
# local edit. A clerk who set a value keeps it.
FILLED_WHILE_DEFAULT = {"township": False, "aliases": [], "valid_from": None, "valid_to": None}


def _fill_new_fields(obj, wanted: dict, acting_user) -> tuple[list[str], bool]:
    """(the fields still differing from the file, whether some were filled and saved)."""
    diff, filled = [], []
    for name in _differences(obj, wanted):
        if name in FILLED_WHILE_DEFAULT and getattr(obj, name) == FILLED_WHILE_DEFAULT[name]:
            setattr(obj, name, wanted[name])
            filled.append(name)
        else:
            diff.append(name)
    if filled:
        _save(obj, acting_user, update_fields=filled)
    return diff, bool(filled)


def _locked(queryset) -> list:
    """Existing rows, locked in primary-key order (evaluated here, inside the transaction)."""
    return list(queryset.order_by("pk").select_for_update())


def reference_data_load(*, base_dir: Path | str | None = None, acting_user=None, dry_run: bool = False) -> LoadReport:
    """Load the reference data files into the database (see the module docstring for the rules)."""
    data = reference_data_read(base_dir=base_dir)
    report = LoadReport()
    with transaction.atomic():
        regions = _apply_regions(data, report, acting_user)
        designations = _apply_designations(data, report, acting_user)
        _apply_institutions(data, report, acting_user, regions, designations)
        _apply_catalogue(data, report, acting_user, regions)
        versions = _apply_versions(data, report, acting_user, regions)
        _apply_parameters(data, report, acting_user, versions)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _apply_simple(model, rows: dict[str, dict], label: str, report: LoadReport, acting_user) -> dict[str, Any]:
    counts = report.count(label)
    existing = {obj.code: obj for obj in _locked(model.objects.filter(code__in=list(rows)))}
    for code, wanted in rows.items():
        obj = existing.get(code)
        if obj is None:
            obj = model(code=code, **wanted)
            _save(obj, acting_user)
            existing[code] = obj
            counts.created += 1
        elif diff := _differences(obj, wanted):
            counts.kept += 1
            report.kept.append(f"kept local edit of {label[:-1]} {code} ({', '.join(diff)} differ from the file)")
        else:
            counts.unchanged += 1
    return existing


def _apply_regions(data, report, acting_user) -> dict[str, Region]:
    return _apply_simple(Region, data.regions, "regions", report, acting_user)


def _apply_designations(data, report, acting_user) -> dict[str, Designation]:
    return _apply_simple(Designation, data.designations, "designations", report, acting_user)


def _apply_institutions(data, report, acting_user, regions, designations) -> None:
    counts = report.count("institutions")
    region_ids = {regions[code].pk for code, _ in data.institutions}
    existing = {
        (obj.region_id, obj.code): obj
        for obj in _locked(Institution.objects.filter(region_id__in=region_ids).prefetch_related("designations"))
    }
    for (region_code, code), row in data.institutions.items():
        region = regions[region_code]
        wanted = {k: v for k, v in row.items() if k != "designations"}
        obj = existing.get((region.pk, code))
        if obj is None:
            obj = Institution(region=region, code=code, **wanted)
            _save(obj, acting_user)
            if row["designations"]:
                obj.designations.set([designations[d] for d in sorted(row["designations"])])
            counts.created += 1
            continue
        diff, filled = _fill_new_fields(obj, wanted, acting_user)
        if frozenset(d.code for d in obj.designations.all()) != row["designations"]:
            diff.append("designations")
        if diff:
            counts.kept += 1
            report.kept.append(f"kept local edit of institution {region_code}/{code} ({', '.join(diff)} differ from the file)")
        elif filled:
            counts.updated += 1
        else:
            counts.unchanged += 1


def _apply_catalogue(data, report, acting_user, regions) -> None:
    counts = report.count("catalogue items")
    region_ids = {regions[code].pk for code, _, _ in data.catalogue}
    existing = {
        (obj.region_id, obj.kind, obj.code): obj
        for obj in _locked(CatalogueItem.objects.filter(region_id__in=region_ids))
    }
    for (region_code, kind, code), wanted in data.catalogue.items():
        region = regions[region_code]
        obj = existing.get((region.pk, kind, code))
        if obj is None:
            _save(CatalogueItem(region=region, kind=kind, code=code, **wanted), acting_user)
            counts.created += 1
            continue
        diff, filled = _fill_new_fields(obj, wanted, acting_user)
        if diff:
            counts.kept += 1
            report.kept.append(
                f"kept local edit of catalogue item {region_code}/{kind}/{code} ({', '.join(diff)} differ from the file)"
            )
        elif filled:
            counts.updated += 1
        else:
            counts.unchanged += 1


def _apply_versions(data, report, acting_user, regions) -> dict[str, PolicyVersion]:
    counts = report.count("policy versions")
    existing = {obj.code: obj for obj in _locked(PolicyVersion.objects.filter(code__in=list(data.versions)))}
    for code, row in data.versions.items():
        wanted = {**row, "region": regions[row["region"]]}
        obj = existing.get(code)
        if obj is None:
            obj = PolicyVersion(code=code, **wanted)
            try:
                obj.full_clean()
            except ValidationError as exc:
                raise ReferenceDataError(f"policies/{code}/version.yaml: {'; '.join(exc.messages)}") from exc
            _save(obj, acting_user)
            existing[code] = obj
            counts.created += 1
        elif diff := _differences(obj, wanted):
            counts.kept += 1
            report.kept.append(f"kept local edit of policy version {code} ({', '.join(diff)} differ from the file)")
        else:
            counts.unchanged += 1
    return existing


def _apply_parameters(data, report, acting_user, versions) -> None:
    counts = report.count("policy parameters")
    for code, params in data.parameters.items():
        version = versions[code]
        existing = {p.key: p for p in _locked(PolicyParameter.objects.filter(version=version))}
        for key, entry in params.items():
            param = existing.pop(key, None)
            shipped = entry["value"]
            if param is None:
                _save(PolicyParameter(version=version, key=key, loaded_value=shipped, **entry), acting_user)
                counts.created += 1
                continue
            edited = param.value != param.loaded_value
            if edited and param.value != shipped:
                counts.kept += 1
                report.kept.append(
                    f"kept local edit of {code} {key}: value {_short(param.value)}, file ships {_short(shipped)}"
                )
                continue
            # Not edited (or the clerk's value is now what the file ships): follow the file.
            wanted = {**entry, "loaded_value": shipped}
            if diff := _differences(param, wanted):
                for name in diff:
                    setattr(param, name, wanted[name])
                _save(param, acting_user, update_fields=diff)
                counts.updated += 1
            else:
                counts.unchanged += 1
        for key in sorted(existing):
            report.notices.append(f"parameter {code} {key} is not in the files (left as it is)")


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
