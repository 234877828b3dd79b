"""The Changchun 2021 inpatient parameter file itself (DOMAIN.md: numbers are policy data)."""

import yaml

from .conftest import POLICY_FILE

NAMESPACES = ("inpatient.", "catastrophic.", "adjustment.", "fixed_copay.", "day_surgery.")


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_every_parameter_is_documented_and_namespaced():
    """DOMAIN preamble: clerks read each parameter with a description and its source in the seed."""
    # given the data file
    parameters = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))["parameters"]
    # when each entry is inspected, then it is namespaced and documented
    for key, entry in parameters.items():
        assert key.startswith(NAMESPACES), key
        assert set(entry) == {"description", "source", "value"}, key
        assert entry["description"] and entry["source"], key


def test_no_yaml_numbers_in_values():
    """DOMAIN money rule: amounts and ratios are quoted strings, never YAML floats or ints."""
    # given the data file
    parameters = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))["parameters"]
    # when every leaf value is inspected, then each is a string or null
    for key, entry in parameters.items():
        for leaf in _leaves(entry["value"]):
            assert leaf is None or isinstance(leaf, str), (key, leaf)
