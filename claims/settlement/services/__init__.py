"""Settlement services: membership, visit ingestion, settlement runs, statement release."""

from .membership import pool_members_sync_schools, pool_signups_import, school_clinic_link
from .runs import institution_settle, settlement_release, settlement_run_process, settlement_run_start
from .visits import IngestResult, visits_ingest

__all__ = [
    "IngestResult",
    "institution_settle",
    "pool_members_sync_schools",
    "pool_signups_import",
    "school_clinic_link",
    "settlement_release",
    "settlement_run_process",
    "settlement_run_start",
    "visits_ingest",
]
