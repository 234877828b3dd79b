"""What every PostgreSQL benchmark does before measuring: its own database (created if missing),
Django set up on it without DEBUG's query log, migrations and the reference data."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(example_database: str, why: str) -> None:
    """Stop unless DATABASE_URL names a PostgreSQL database (`why`: what the bench does to it)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"Set DATABASE_URL=postgres://…/{example_database} (a separate database: {why}).")
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medins.settings")
    os.environ.setdefault("DEBUG", "true")  # a development tool: the development key (DEBUG is turned off below)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0, stdout=io.StringIO())
