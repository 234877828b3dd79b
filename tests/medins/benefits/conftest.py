"""Engine fixtures: the Changchun 2021 parameters straight from the YAML data file, no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from medins.benefits.policy import PolicySnapshot

POLICY_FILE = Path(__file__).resolve().parents[3] / "medins/reference/policies/220100-2021/inpatient.yaml"


def load_params() -> dict:
    with POLICY_FILE.open(encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    return {key: entry["value"] for key, entry in document["parameters"].items()}


def snapshot(params: dict, region: str = "220100", version: str = "220100-2021") -> PolicySnapshot:
    return PolicySnapshot(region=region, version=version, date=dt.date(2021, 5, 10), params=params)


@pytest.fixture(scope="session")
def changchun_params() -> dict:
    return load_params()


@pytest.fixture(scope="session")
def policy(changchun_params) -> PolicySnapshot:
    """Read-only snapshot shared by all tests (its cache only memoises parameter reads)."""
    return snapshot(changchun_params)


@pytest.fixture
def policy_with(changchun_params):
    """Build a snapshot from the Changchun parameters with some keys replaced, or removed (value None)."""

    def build(changes: dict) -> PolicySnapshot:
        params = dict(changchun_params)
        for key, value in changes.items():
            if value is None:
                params.pop(key)
            else:
                params[key] = value
        return snapshot(params)

    return build
