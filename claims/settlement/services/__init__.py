"""Settlement services: membership, visit ingestion, settlement runs, statement release."""

from .certified import certified_visits_ingest, visits_receive
from .closing import settlement_year_reopen_approve, settlement_year_reopen_refuse, settlement_year_reopen_request
from .membership import pool_members_sync_schools, pool_signups_import, school_clinic_link
from .runs import (
    institution_settle,
    settlement_release,
    settlement_run_process,
    settlement_run_start,
    settlement_run_watchdog,
)
from .statements import fee_statement_produce, fee_statement_release
from .stays import stays_receive
from .visits import IngestResult, visits_ingest

__all__ = [
    "IngestResult",
    "certified_visits_ingest",
    "fee_statement_produce",
    "fee_statement_release",
    "institution_settle",
    "pool_members_sync_schools",
    "pool_signups_import",
    "school_clinic_link",
    "settlement_release",
    "settlement_run_process",
    "settlement_run_start",
    "settlement_run_watchdog",
    "settlement_year_reopen_approve",
    "settlement_year_reopen_refuse",
    "settlement_year_reopen_request",
    "stays_receive",
    "visits_ingest",
    "visits_receive",
]
