"""Loading the shipped case types (claims/reference/case_types.yaml); idempotent, keeps local edits."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.db import transaction

from medins.models import Region

from ..models import Benefit, CaseType, CaseTypeMaterial

CASE_TYPES_FILE = Path(__file__).resolve().parent.parent / "reference" / "case_types.yaml"
CHANGE_REASON = "load_case_types"


class CaseTypesFileError(Exception):
    pass


def _read(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    materials = data.get("materials") or {}
    for region, template in (data.get("source_templates") or {}).items():
        if region not in (data.get("regions") or {}):
            raise CaseTypesFileError(f"{path.name}: source_templates.{region}: no case types for this region")
        try:
            str(template).format(number=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise CaseTypesFileError(f"{path.name}: source_templates.{region}: only {{number}} may be used ({exc})") from None
    for region, types in (data.get("regions") or {}).items():
        for t in types:
            where = f"{path.name}: {region}/{t.get('code')}"
            if t.get("benefit") not in Benefit.values:
                raise CaseTypesFileError(f"{where}: unknown benefit {t.get('benefit')!r}")
            for code in t.get("materials", []):
                if code not in materials:
                    raise CaseTypesFileError(f"{where}: unknown material {code!r}")
    return data


@transaction.atomic
def case_types_load(*, acting_user=None, path: Path = CASE_TYPES_FILE) -> dict[str, int]:
    """Create the case types and materials that do not exist yet; an existing row is left as edited."""
    data = _read(path)
    names = data["materials"]
    hospital = set(data.get("hospital_materials") or ())
    templates = data.get("source_templates") or {}
    counts = {"created": 0, "kept": 0, "materials_created": 0}
    regions = {r.code: r for r in Region.objects.filter(code__in=list(data["regions"]))}
    for region_code, types in data["regions"].items():
        region = regions.get(region_code)
        if region is None:
            raise CaseTypesFileError(f"region {region_code} is not loaded (run load_reference_data first)")
        for t in types:
            case_type = CaseType.objects.filter(region=region, code=t["code"]).first()
            if case_type is None:
                case_type = CaseType(region=region, code=t["code"], number=t.get("number", 0), name=t["name"],
                                     condition=t.get("condition", ""), benefit=t["benefit"], flags=t.get("flags", []),
                                     source=t.get("source", str(templates.get(region_code, "")).format(number=t.get("number", 0))))
                case_type._history_user = acting_user
                case_type._change_reason = CHANGE_REASON
                case_type.save()
                counts["created"] += 1
            else:
                counts["kept"] += 1
            existing = set(case_type.materials.values_list("code", flat=True))
            for order, code in enumerate(t.get("materials", []), 1):
                if code in existing:
                    continue
                m = CaseTypeMaterial(case_type=case_type, code=code, name=names[code], provided_by_hospital=code in hospital, order=order)
                m._history_user = acting_user
                m._change_reason = CHANGE_REASON
                m.save()
                counts["materials_created"] += 1
    return counts
