"""The one pure entry point: a validated request and a policy snapshot in, a quote out."""

from __future__ import annotations

from .accident import compute_accident
from .chronic import compute_chronic
from .errors import InvalidRequest
from .inpatient import compute_day_surgery, compute_inpatient
from .long_term_care import compute_long_term_care
from .maternity import compute_maternity
from .outpatient_pool import compute_outpatient_pool
from .policy import PolicySnapshot
from .request import QuoteRequest
from .result import QuoteResult
from .special_disease import compute_special_disease
from .special_drug import compute_special_drug
from .two_diseases import compute_two_diseases

_BENEFITS = {
    "inpatient": compute_inpatient,
    "day_surgery": compute_day_surgery,
    "accident": compute_accident,
    "maternity": compute_maternity,
    "outpatient_pool": compute_outpatient_pool,
    "chronic": compute_chronic,
    "special_disease": compute_special_disease,
    "special_drug": compute_special_drug,
    "two_diseases": compute_two_diseases,
}
_BENEFITS["long_term_care"] = compute_long_term_care


def compute(req: QuoteRequest, policy: PolicySnapshot) -> QuoteResult:
    """Fund, catastrophic supplement and personal shares of one settlement. Reads nothing else."""
    handler = _BENEFITS.get(req.benefit)
    if handler is None:
        raise InvalidRequest("benefit", f"'{req.benefit}' is not available yet")
    return handler(req, policy)
