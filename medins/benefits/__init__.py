"""Pure benefit engine: no Django, no I/O, Decimal money (DOMAIN.md, contracts/quote.md)."""

from .engine import compute
from .request import QuoteRequest, parse_quote_request
from .result import QuoteResult

__all__ = ["QuoteRequest", "QuoteResult", "compute", "parse_quote_request"]
