"""The engine's answer: totals, explanatory lines and the national settlement names."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .rounding import ZERO, money_str

FUND = "fund"
CATASTROPHIC = "catastrophic"
PERSONAL = "personal"


@dataclass(slots=True)
class Line:
    """One explained step. `amount` is already rounded to the cent; `detail` holds JSON-ready extras."""

    step: str
    amount: Decimal
    payer: str
    parameter: str | None = None
    rate: Decimal | None = None
    detail: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "amount": money_str(self.amount), "payer": self.payer}
        if self.rate is not None:
            out["rate"] = str(self.rate)
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.detail:
            out.update(self.detail)
        return out


@dataclass(slots=True)
class QuoteResult:
    region: str
    benefit: str
    policy_version: str
    total: Decimal
    fund: Decimal
    catastrophic: Decimal
    personal: Decimal
    lines: list[Line]
    # Settlement components (national platform names in as_dict).
    class_c: Decimal  # fulamt_ownpay_amt
    class_b_copay: Decimal  # preselfpay_amt
    eligible: Decimal  # inscp_scp_amt
    deductible_paid: Decimal  # act_pay_dedc
    fixed_copay_paid: Decimal = field(default=ZERO)  # paid towards a fixed-copay programme (ledger input)

    @property
    def covered_personal(self) -> Decimal:
        """This settlement's addition to the catastrophic accumulator (personal, before catastrophic, without class C)."""
        return self.total - self.class_c - self.fund

    def as_dict(self) -> dict[str, Any]:
        total = money_str(self.total)
        fund = money_str(self.fund)
        catastrophic = money_str(self.catastrophic)
        personal = money_str(self.personal)
        return {
            "region": self.region,
            "benefit": self.benefit,
            "policy_version": self.policy_version,
            "total": total,
            "fund": fund,
            "catastrophic": catastrophic,
            "personal": personal,
            "lines": [line.as_dict() for line in self.lines],
            "settlement": {
                "medfee_sumamt": total,
                "fulamt_ownpay_amt": money_str(self.class_c),
                "preselfpay_amt": money_str(self.class_b_copay),
                "inscp_scp_amt": money_str(self.eligible),
                "act_pay_dedc": money_str(self.deductible_paid),
                "hifp_pay": fund,
                "hifmi_pay": catastrophic,
                "maf_pay": "0.00",  # medical assistance (医疗救助) is out of scope
                "psn_cash_pay": personal,
            },
        }
