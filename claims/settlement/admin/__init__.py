"""Admin of the settlement app: outpatient-pool capitation (pool.py) and fee-for-service
statements of certified outpatient visits (fees.py)."""

from . import fees, pool  # noqa: F401  (registers the model admins)
from .pool import EXPORT_COLUMNS  # noqa: F401
