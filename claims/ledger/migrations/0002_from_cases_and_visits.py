# The ledger takes over every year-to-date figure (issue #10): the approved manual cases and the
# outpatient-pool visits recorded so far become its entries, and the accounts their sums.
# Visits' ledger (settlement.PoolLedger) is dropped by settlement 0008 after this.

from django.db import migrations

from claims.ledger import keys

COUNTED = ("approved", "payment_ordered", "paid", "payment_failed")
FIELDS = keys.FIGURE_NAMES


def forward(apps, schema_editor):
    Case = apps.get_model("claims", "Case")
    Visit = apps.get_model("settlement", "Visit")
    Entry = apps.get_model("ledger", "LedgerEntry")
    Account = apps.get_model("ledger", "LedgerAccount")
    totals = {}
    batch = []

    def add(entry):
        batch.append(entry)
        fig = keys.Figures(*(getattr(entry, n) for n in FIELDS))
        for (b, i), part in keys.split(entry.benefit, entry.item, fig).items():
            key = (entry.person_id, entry.year, b, i)
            total, count = totals.get(key, (keys.EMPTY, 0))
            totals[key] = (total + part, count + 1)
        if len(batch) >= 5000:
            Entry.objects.bulk_create(batch)
            batch.clear()

    cases = (Case.objects.filter(state__in=COUNTED).exclude(breakdown=None).select_related("case_type")
             .order_by("pk").iterator(chunk_size=2000))
    for case in cases:
        quote = (case.breakdown or {}).get("quote") or {}
        fig = keys.effect(case.case_type.benefit, quote)
        add(Entry(person_id=case.person_id, year=case.service_from.year, benefit=case.case_type.benefit, item="",
                  source_kind="case", source_id=case.pk, service_date=case.service_from, created_by_id=case.approved_by_id,
                  note="migrated", **dict(zip(FIELDS, fig.as_tuple(), strict=True))))
    for visit in Visit.objects.order_by("pk").iterator(chunk_size=5000):
        fig = keys.entry_figures("outpatient_pool", fund=visit.fund, deductible=visit.deductible,
                                 eligible=visit.class_a + visit.class_b)
        add(Entry(person_id=visit.person_id, year=visit.year, benefit="outpatient_pool", item="",
                  source_kind="pool_visit", source_id=visit.pk, service_date=visit.service_date, note="migrated",
                  **dict(zip(FIELDS, fig.as_tuple(), strict=True))))
    Entry.objects.bulk_create(batch)
    Account.objects.bulk_create(
        [Account(person_id=p, year=y, benefit=b, item=i, entries=count, **dict(zip(FIELDS, total.as_tuple(), strict=True)))
         for (p, y, b, i), (total, count) in sorted(totals.items())], batch_size=5000)


def backward(apps, schema_editor):
    apps.get_model("ledger", "LedgerEntry").objects.all().delete()
    apps.get_model("ledger", "LedgerAccount").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0001_accounts_and_entries"),
        ("claims", "0001_initial"),
        ("settlement", "0007_membership_index_ledger_fillfactor"),
    ]

    operations = [migrations.RunPython(forward, backward)]
