"""The shipped policy parameters and catalogue of a region as an engine snapshot, no database."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import yaml

from medins.benefits import compute, parse_quote_request
from medins.benefits.policy import CatalogueEntry, PolicySnapshot

REFERENCE = Path(__file__).resolve().parents[3] / "medins" / "reference"


@cache
def params(version: str) -> dict:
    out = {}
    for path in sorted((REFERENCE / "policies" / version).glob("*.yaml")):
        if path.name != "version.yaml":
            out.update({k: v["value"] for k, v in yaml.safe_load(path.read_text("utf-8"))["parameters"].items()})
    return out


@cache
def catalogue(region: str) -> dict:
    doc = yaml.safe_load((REFERENCE / "catalogues" / f"{region}.yaml").read_text("utf-8"))
    out = {}
    for kind, rows in doc["items"].items():
        for row in rows:
            out[(kind, row["code"])] = CatalogueEntry(
                kind=kind, code=row["code"], name=row["name"], group=row.get("group") or "",
                attributes=row.get("attributes") or {},
                valid_from=_date(row.get("valid_from") or (row.get("attributes") or {}).get("valid_from")),
                valid_to=_date(row.get("valid_to") or (row.get("attributes") or {}).get("valid_to")))
    return out


def _date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def snapshot(region: str, day: dt.date = dt.date(2021, 5, 10), changes: dict | None = None) -> PolicySnapshot:
    """The shipped 2021 snapshot of a region; `changes` replaces parameters (None removes one)."""
    p = dict(params(f"{region}-2021"))
    for key, value in (changes or {}).items():
        if value is None:
            p.pop(key, None)
        else:
            p[key] = value
    return PolicySnapshot(region=region, version=f"{region}-2021", date=day, params=p, catalogue=catalogue(region))


def quote(data: dict, changes: dict | None = None) -> dict:
    """The contract response to a request dict, on the shipped data of its region and date."""
    req = parse_quote_request(data)
    return compute(req, snapshot(req.region, req.service_date, changes)).as_dict()


def line(body: dict, step: str) -> list[dict]:
    return [x for x in body["lines"] if x["step"] == step]
