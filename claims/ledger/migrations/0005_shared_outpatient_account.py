"""The shared outpatient account (keys.SHARED): advanced by chronic and outpatient-pool entries from
now on; built here from the entries already written, so every account equals its entries."""

from django.db import migrations


def build(apps, schema_editor):
    LedgerAccount = apps.get_model("ledger", "LedgerAccount")
    LedgerEntry = apps.get_model("ledger", "LedgerEntry")
    from django.db.models import Count, Sum

    rows = (LedgerEntry.objects.filter(benefit__in=["chronic", "outpatient_pool"]).order_by()
            .values("person_id", "year").annotate(fund=Sum("fund"), n=Count("id")))
    batch = []
    for row in rows.iterator(chunk_size=5000):
        batch.append(LedgerAccount(person_id=row["person_id"], year=row["year"], benefit="outpatient_shared", item="",
                                   fund=row["fund"], entries=row["n"]))
        if len(batch) == 5000:
            LedgerAccount.objects.bulk_create(batch)
            batch = []
    LedgerAccount.objects.bulk_create(batch)


def unbuild(apps, schema_editor):
    apps.get_model("ledger", "LedgerAccount").objects.filter(benefit="outpatient_shared").delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_care_claim_source")]
    operations = [migrations.RunPython(build, unbuild)]
