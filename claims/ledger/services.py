"""The one service that writes the yearly ledger (DESIGN.md "One yearly ledger").

Every payer — manual cases at approval, outpatient-pool visits at ingestion, and the certified
outpatient benefits and care claims that come next — computes on figures it read from the
ledger and then posts its entries here, in the same transaction as the payment it records:

- `ledger_read(keys, lock=True)` creates the missing accounts and locks them (SELECT … FOR UPDATE
  in key order — person, year, benefit, item — the one order every writer uses, so two writers
  never wait on each other crosswise). A writer of one person (a case) locks before computing.
- `ledger_post(postings, read=...)` writes the entries and advances each account by the sum of
  its entries' figures, then re-checks: every account advanced must now count the entries the
  computation read plus those it added. If not, another writer changed it in between (possible
  only for a writer that computed on an unlocked read, like visit ingestion), and LedgerChanged
  rolls the whole transaction back: nothing is ever saved on stale totals. The entry count is
  the account's version: only this service changes an account, and every change adds at least
  one entry to each account it advances, so an unchanged count means unchanged figures (one
  integer brought back per account instead of its seven amounts: a visit batch advances 15 000).
- `ledger_reverse(source)` writes the mirror entry of each live entry of a settlement (a
  correction is a reversal plus a new posting; nothing is updated in place).

PostgreSQL: entries are written with COPY and accounts advanced with one INSERT … ON CONFLICT
DO UPDATE … RETURNING (thousands of visits a batch); elsewhere the ORM does the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Case, DecimalField, F, IntegerField, Value, When
from django.utils import timezone

from medins.bulk import among, copy_text, pg_array

from .errors import LedgerChanged, LedgerRefused
from .keys import EMPTY, FIGURE_NAMES, Figures, split
from .models import LedgerAccount, LedgerEntry

AccountKey = tuple[int, int, str, str]  # person id, year, benefit, item


class LedgerRead(dict):
    """{key: figures} as `ledger_read` found them, and `entries`: {key: entry count} (the
    accounts' versions, 0 for an account not there yet) that `ledger_post` re-checks."""

    def __init__(self, figures=(), entries=None):
        super().__init__(figures)
        self.entries: dict[AccountKey, int] = entries if entries is not None else {}

    def scoped(self) -> LedgerRead:
        """The same accounts of one person and year keyed by (benefit, item) only; its `read`
        is this full read, to hand to ledger_post."""
        out = LedgerRead({(b, i): f for (_p, _y, b, i), f in self.items()})
        out.read = self
        return out
_MONEY = DecimalField(max_digits=14, decimal_places=2)


class Posting(NamedTuple):
    """One entry to write: a settlement's figures for one person, year, benefit and item.

    A named tuple, not a frozen dataclass: a visit batch builds 5 000 of them, and a frozen
    dataclass sets each field through object.__setattr__ (five times slower to build)."""

    person_id: int
    service_date: dt.date
    benefit: str
    source_kind: str
    source_id: int
    figures: Figures
    item: str = ""
    reverses_id: int | None = None
    note: str = ""

    @property
    def year(self) -> int:
        return self.service_date.year

    def accounts(self) -> dict[AccountKey, Figures]:
        return {(self.person_id, self.year, b, i): f for (b, i), f in split(self.benefit, self.item, self.figures).items()}


def _filter(keys: Iterable[AccountKey]):
    """A superset of the keys' accounts (persons × years × scopes); one array parameter for the
    persons on PostgreSQL (a visit batch has 5 000)."""
    keys = list(keys)
    return LedgerAccount.objects.filter(among(LedgerAccount, "person_id", sorted({k[0] for k in keys})),
                                        year__in=sorted({k[1] for k in keys}), benefit__in=sorted({k[2] for k in keys}),
                                        item__in=sorted({k[3] for k in keys}))


def ledger_read(keys: Iterable[AccountKey], *, lock: bool = False) -> LedgerRead:
    """{key: figures} for every key (zeros where no account exists yet), with the accounts' entry
    counts, in one query.

    lock=True (inside a transaction): the accounts are created if missing and locked in key
    order, so what is read stays true until the transaction ends."""
    keys = sorted(set(keys))
    out = LedgerRead(dict.fromkeys(keys, EMPTY), dict.fromkeys(keys, 0))
    if not keys:
        return out
    qs = _filter(keys)
    if lock:
        LedgerAccount.objects.bulk_create(
            [LedgerAccount(person_id=p, year=y, benefit=b, item=i) for p, y, b, i in keys], ignore_conflicts=True)
        qs = qs.order_by("person_id", "year", "benefit", "item").select_for_update()
    else:
        qs = qs.order_by()
    entries = out.entries
    for row in qs.values_list("person_id", "year", "benefit", "item", "entries", *FIGURE_NAMES):
        key = row[:4]
        if key in out:
            out[key] = Figures(*row[5:])
            entries[key] = row[4]
    return out


@transaction.atomic
def ledger_post(*, acting_user, postings: list[Posting], read: LedgerRead) -> int:
    """Write the entries and advance their accounts; `read` is what `ledger_read` gave the
    computation, for every account the postings advance. Returns the number of entries written.

    Raises LedgerChanged (and nothing is saved) when an account no longer stands as read."""
    if not postings:
        return 0
    if not isinstance(read, LedgerRead):
        raise LedgerRefused("read: the accounts as ledger_read read them (their entry counts are re-checked)")
    delta, counts = _deltas(postings)
    missing = set(delta) - set(read.entries)
    if missing:
        raise LedgerRefused(f"the figures read are not given for {sorted(missing)[0]}")
    entries = read.entries
    _write_entries(postings, acting_user)
    stale = _advance(delta, counts, {key: entries[key] + n for key, n in counts.items()})
    if stale:
        raise LedgerChanged(stale)
    return len(postings)


@transaction.atomic
def ledger_reverse(*, acting_user, source_kind: str, source_id: int, note: str = "", person_id: int | None = None) -> int:
    """Reverse every live entry of one settlement (a mirror entry each); returns how many.
    `person_id`: only that person's entries (a care claim posts one entry per resident)."""
    live = live_entries(source_kind, source_id)
    if person_id is not None:
        live = live.filter(person_id=person_id)
    live = list(live.order_by("pk"))
    if not live:
        return 0
    postings = [Posting(person_id=e.person_id, service_date=e.service_date, benefit=e.benefit, item=e.item,
                        source_kind=e.source_kind, source_id=e.source_id, reverses_id=e.pk, note=note[:200],
                        figures=-Figures(*(getattr(e, n) for n in FIGURE_NAMES))) for e in live]
    keys = {key for p in postings for key in p.accounts()}
    return ledger_post(acting_user=acting_user, postings=postings, read=ledger_read(keys, lock=True))


def live_entries(source_kind: str, source_id: int):
    """A settlement's entries that are neither reversals nor reversed."""
    return LedgerEntry.objects.filter(source_kind=source_kind, source_id=source_id, reverses__isnull=True,
                                      reversed_by__isnull=True)


def _deltas(postings: list[Posting]) -> tuple[dict[AccountKey, Figures], dict[AccountKey, int]]:
    """What the postings add to each account, and how many entries each account gains.

    The postings are first summed per (person, year, benefit, item) and split once per group: a
    visit batch has several visits per person and account, and split is linear — except that
    the year account receives an entry whenever one posting's cap_fund is not zero, so whether
    it does is part of the group's key (a +x and a -x still count two entries there)."""
    groups: dict[tuple, list] = {}
    for p in postings:
        figures = p.figures
        key = (p.person_id, p.service_date.year, p.benefit, p.item, bool(figures[1]))
        group = groups.get(key)
        if group is None:
            groups[key] = [figures, 1]
        else:
            group[0] = group[0] + figures
            group[1] += 1
    delta: dict[AccountKey, Figures] = {}
    counts: dict[AccountKey, int] = {}
    for (person_id, year, benefit, item, year_account), (figures, n) in groups.items():
        for (b, i), f in split(benefit, item, figures, year_account=year_account).items():
            key = (person_id, year, b, i)
            had = delta.get(key)
            delta[key] = f if had is None else had + f
            counts[key] = counts.get(key, 0) + n
    return delta, counts


# --------------------------------------------------------------------------- writing


_ENTRY_COLUMNS = ("person_id", "year", "benefit", "item", "source_kind", "source_id", "service_date", "reverses_id",
                  *FIGURE_NAMES, "created_at", "created_by_id", "note")


def _write_entries(postings: list[Posting], acting_user) -> None:
    now = timezone.now()
    user_id = acting_user.pk if acting_user is not None else None
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create([
            LedgerEntry(person_id=p.person_id, year=p.year, benefit=p.benefit, item=p.item, source_kind=p.source_kind,
                        source_id=p.source_id, service_date=p.service_date, reverses_id=p.reverses_id,
                        created_by_id=user_id, note=p.note, **dict(zip(FIGURE_NAMES, p.figures.as_tuple(), strict=True)))
            for p in postings], batch_size=1000)
        return
    user_text = str(user_id) if user_id is not None else "\\N"
    tail = f"\t{now.isoformat()}\t{user_text}\t"
    lines = []
    for p in postings:
        reverses = p.reverses_id if p.reverses_id is not None else "\\N"
        # benefit, item and source kind are codes (letters, digits, -_:), nothing to escape in COPY text
        figures = "\t".join(map(str, p.figures))
        note = copy_text(p.note) if p.note else ""
        day = p.service_date
        lines.append(f"{p.person_id}\t{day.year}\t{p.benefit}\t{p.item}\t{p.source_kind}\t{p.source_id}\t"
                     f"{day}\t{reverses}\t{figures}{tail}{note}\n")
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.copy(f"COPY {LedgerEntry._meta.db_table} ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN") as copy:
        copy.write("".join(lines))


def _advance(delta: dict[AccountKey, Figures], counts: dict[AccountKey, int],
             expected: dict[AccountKey, int]) -> list[AccountKey]:
    """Create or advance each account by its delta and entry count (rows locked in key order);
    returns the accounts whose entry count is not then `expected` (changed since read)."""
    keys = sorted(delta)
    if connection.vendor == "postgresql":
        table = LedgerAccount._meta.db_table
        names = ", ".join(FIGURE_NAMES)
        sets = ", ".join(f"{n} = a.{n} + EXCLUDED.{n}" for n in FIGURE_NAMES)
        arrays = ", ".join("%s::numeric[]" for _n in FIGURE_NAMES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS a (person_id, year, benefit, item, {names}, entries) "
                f"SELECT * FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], {arrays}, %s::int[]) "
                f"ON CONFLICT (person_id, year, benefit, item) DO UPDATE SET {sets}, "
                "entries = a.entries + EXCLUDED.entries RETURNING person_id, year, benefit, item, entries",
                [pg_array([k[0] for k in keys])[0], pg_array([k[1] for k in keys])[0],
                 pg_array([k[2] for k in keys])[0], pg_array([k[3] for k in keys])[0],
                 # one array per figure: the deltas transposed (zip), each decimal written once
                 *("{" + ",".join(map(str, column)) + "}"
                   for column in zip(*map(delta.__getitem__, keys), strict=True)),
                 pg_array([counts[k] for k in keys])[0]])
            # only the counts come back: no 100 000 decimals to convert
            return [(p, y, b, i) for p, y, b, i, n in cursor.fetchall() if expected[(p, y, b, i)] != n]
    LedgerAccount.objects.bulk_create([LedgerAccount(person_id=p, year=y, benefit=b, item=i) for p, y, b, i in keys],
                                      ignore_conflicts=True)
    pks = {a.key: a.pk for a in _filter(keys).order_by(
        "person_id", "year", "benefit", "item").select_for_update().only("person_id", "year", "benefit", "item")
        if a.key in delta}

    def by_account(values: dict, output_field):
        return Case(*[When(pk=pks[key], then=Value(value)) for key, value in values.items()], output_field=output_field)

    LedgerAccount.objects.filter(pk__in=list(pks.values())).update(
        entries=F("entries") + by_account(counts, IntegerField()),
        **{n: F(n) + by_account({k: getattr(d, n) for k, d in delta.items()}, _MONEY) for n in FIGURE_NAMES})
    after = ledger_read(keys).entries
    return [key for key in keys if after[key] != expected[key]]
