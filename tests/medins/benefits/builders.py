"""Request builders shared by the engine tests (plain functions, no database)."""

from __future__ import annotations

from decimal import Decimal

from medins.benefits import compute, parse_quote_request
from medins.benefits.policy import PolicySnapshot

SERVICE_DATE = "2021-05-10"


def request(
    *,
    benefit: str = "inpatient",
    category: str = "adult",
    level: str = "municipal_tertiary",
    a: str = "0.00",
    b: str = "0.00",
    c: str = "0.00",
    ytd: dict | None = None,
    flags: list[str] | tuple[str, ...] = (),
    programme: str | None = None,
    region: str = "220100",
) -> dict:
    """A contract request dict (contracts/quote.md) with the given bill and context."""
    data = {
        "region": region,
        "benefit": benefit,
        "service_date": SERVICE_DATE,
        "person": {"category": category},
        "institution": {"level": level},
        "bill": {"class_a": a, "class_b": b, "class_c": c},
        "flags": list(flags),
    }
    if ytd is not None:
        data["year_to_date"] = ytd
    if programme is not None:
        data["programme"] = programme
    return data


def quote(policy: PolicySnapshot, **kwargs) -> dict:
    """The contract response for a request built from kwargs."""
    return compute(parse_quote_request(request(**kwargs)), policy).as_dict()


def lines(response: dict, step: str) -> list[dict]:
    return [line for line in response["lines"] if line["step"] == step]


def amount_of(response: dict, step: str) -> Decimal:
    """Sum of the amounts of every line of one step."""
    return sum((Decimal(line["amount"]) for line in lines(response, step)), Decimal("0.00"))
