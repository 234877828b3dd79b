# Ingestion speed (issue #5): membership checked from its unique index alone on PostgreSQL, no
# separate person index, ledger pages with room for HOT updates.

import django.db.models.deletion
from django.db import migrations, models

TABLE = "settlement_poolmembership"
NAME = "stl_one_pool_per_person_year"


def covering_unique(apps, schema_editor):
    # The unique (person, year) index also carries the institution (INCLUDE, PostgreSQL only: SQLite
    # would not create the constraint at all, so the model declares the plain one).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}, "
                              f"ADD CONSTRAINT {NAME} UNIQUE (person_id, year) INCLUDE (institution_id)")


def plain_unique(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}, ADD CONSTRAINT {NAME} UNIQUE (person_id, year)")


def ledger_fillfactor(apps, schema_editor, percent=70):
    # Room on each page for HOT updates of the ledgers (see PoolLedger); PostgreSQL only.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE settlement_poolledger SET (fillfactor = {percent})")


def ledger_fillfactor_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE settlement_poolledger RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0004_cover_index_includes_status'),
        ('medins', '0002_region_designation_history'),
        ('settlement', '0006_visit_without_db_foreign_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='poolmembership',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='pool_memberships', to='enrollment.person', verbose_name='insured person'),
        ),
        # The state is what PostgreSQL has: UNIQUE (person_id, year) INCLUDE (institution_id), as the
        # model declares it. The database operations build it on PostgreSQL only; SQLite keeps the
        # plain unique constraint of 0001 under the same name (the uniqueness holds on both).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name='poolmembership', name=NAME),
                migrations.AddConstraint(
                    model_name='poolmembership',
                    constraint=models.UniqueConstraint(fields=('person', 'year'), include=('institution',), name=NAME),
                ),
            ],
            database_operations=[migrations.RunPython(covering_unique, plain_unique)],
        ),
        # Storage parameters are no part of Django's state: a database operation only.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(ledger_fillfactor, ledger_fillfactor_default)],
        ),
    ]
