"""Requests of the fund-security contract (contracts/fund-security.md "Request"), built tersely,
and the rules run over them with the shipped 2021 parameters (no database)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import yaml

from medins.benefits.policy import PolicySnapshot
from medins.fund_security import params_from_policy, parse_request, run_rules

REFERENCE = Path(__file__).resolve().parents[3] / "medins" / "reference" / "policies"


@cache
def shipped_params(version: str = "220100-2021"):
    doc = yaml.safe_load((REFERENCE / version / "fund_security.yaml").read_text("utf-8"))
    values = {k: v["value"] for k, v in doc["parameters"].items()}
    return params_from_policy(PolicySnapshot(region=version[:6], version=version, date=dt.date(2021, 12, 31),
                                             params=values))


def person(pid="P1", covered=(("2021-01-01", None),), **extra) -> dict:
    return {"id": pid, "covered": [list(p) for p in covered], **extra}


def line(date, kind="exam", item=None, quantity=1, amount="10.00", **extra) -> dict:
    return {"date": date, "item": item or f"{kind.upper()}01", "kind": kind, "quantity": quantity, "amount": amount,
            **extra}


def drug(date, days_supply, drug_code="D1", **extra) -> dict:
    return line(date, kind="drug", item=drug_code, drug=drug_code, days_supply=days_supply, **extra)


def stay(sid, admitted, discharged, *, person="P1", institution="H1", benefit="inpatient", diagnosis="I63.9",
         lines=None, **extra) -> dict:
    out = {"id": sid, "person": person, "institution": institution, "benefit": benefit, "admitted": admitted,
           "discharged": discharged, "total": "1000.00", "fund": "500.00",
           "lines": lines if lines is not None else [line(admitted)], **extra}
    if diagnosis is not None:
        out["diagnosis"] = diagnosis
    return out


def visit(sid, service_date, *, person="P1", institution="H1", benefit="outpatient_pool", lines=None, **extra) -> dict:
    return {"id": sid, "person": person, "institution": institution, "benefit": benefit,
            "service_date": service_date, "total": "100.00", "fund": "50.00",
            "lines": lines if lines is not None else [line(service_date)], **extra}


def request(settlements, persons=None, *, region="220100", as_of="2021-12-31") -> dict:
    return {"region": region, "as_of": as_of, "persons": persons if persons is not None else [person()],
            "settlements": settlements}


def run(req: dict, **kwargs) -> dict:
    facts = parse_request(req)
    return run_rules(facts, shipped_params(), **kwargs).as_response(region=facts.region, policy_version="test")


def found(response: dict, rule: str) -> list[list[str]]:
    """The settlement sets of one rule's findings, in response order."""
    return [f["settlements"] for f in response["findings"] if f["rule"] == rule]


def finding(response: dict, rule: str) -> dict:
    (only,) = [f for f in response["findings"] if f["rule"] == rule]
    return only
