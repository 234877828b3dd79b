"""Set-based SQL helpers shared by the bulk services (tax payment import, school batches, the
nightly payment job, outpatient-pool visit ingestion)."""

from __future__ import annotations

import functools
import gc
import threading

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

_HISTORY_COLUMNS = ["history_date", "history_change_reason", "history_type", "history_user_id"]


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def pg_array(values) -> tuple[str, str]:
    """(literal, cast) of a PostgreSQL array of ints or strings, built here in one join: psycopg's
    client-side binding of a 5 000-element list costs more than the query it is for."""
    values = list(values)
    if all(isinstance(v, int) for v in values):
        return "{" + ",".join(map(str, values)) + "}", "bigint[]"
    body = '","'.join(map(str, values))
    # the separators hold 2 quotes each: any more come from a value (rare: codes and ID numbers have none)
    if "\\" in body or body.count('"') != 2 * (len(values) - 1):
        body = '","'.join(str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return '{"' + body + '"}', "text[]"


def among(model, field: str, values) -> Q | RawSQL:
    """`field IN values`; on PostgreSQL `= ANY(array)` with one parameter instead of 5 000."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": values})
    column = model._meta.get_field(field).column
    literal, cast = pg_array(values)
    return RawSQL(f"{qn(model._meta.db_table)}.{qn(column)} = ANY(%s::{cast})", (literal,), output_field=BooleanField())


def column_in(column: str, values) -> tuple[str, list]:
    """(where, params) of `column IN values` for raw SQL; one array parameter on PostgreSQL."""
    values = list(values)
    if connection.vendor == "postgresql":
        literal, cast = pg_array(values)
        return f"{qn(column)} = ANY(%s::{cast})", [literal]
    return f"{qn(column)} IN ({marks(values)})", values


def insert_history(cursor, model, where: str, params: list, *, user, date, reason: str, kind: str) -> None:
    """django-simple-history rows of the model's rows matching `where`, copied by the database (INSERT ... SELECT).

    The same rows bulk_history_create writes (every tracked column, date, author, reason, type:
    "+" created, "~" changed), without building a historical instance per row in Python — at
    thousands of rows that was most of the time of a batch or of the payment job.
    """
    columns = [f.column for f in model._meta.concrete_fields]
    history = model.history.model
    expected = {*columns, *_HISTORY_COLUMNS, history._meta.pk.column}
    if {f.column for f in history._meta.concrete_fields} != expected:  # a new history column: write it here first
        raise RuntimeError(f"unexpected columns in {history._meta.db_table}")
    cols = ", ".join(qn(c) for c in columns)
    cursor.execute(
        f"INSERT INTO {qn(history._meta.db_table)} ({cols}, {', '.join(qn(c) for c in _HISTORY_COLUMNS)}) "
        f"SELECT {cols}, %s, %s, %s, %s FROM {qn(model._meta.db_table)} WHERE {where} ORDER BY {qn(model._meta.pk.column)}",
        [date, reason or None, kind, user.pk if user else None, *params])


def copy_text(value: str) -> str:
    """A text value in COPY's text format (PostgreSQL)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def next_ids(model, count: int) -> list[int]:
    """`count` fresh primary keys of the model, taken from its sequence in one query (PostgreSQL), so
    that rows written with COPY can be referred to by what is written with them. Elsewhere: the
    next ids after the largest (the caller holds the lock that serialises its writers)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence looked up once per statement (a one-row subquery kept apart by OFFSET 0):
            # `nextval(pg_get_serial_sequence(…))` evaluated the stable look-up for every row, twenty
            # times the cost of the nextvals themselves (25 ms of 27 for 5 000 ids).
            cursor.execute("SELECT nextval(q.s) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s OFFSET 0) q, "
                           "generate_series(1, %s)", [table, column, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))



_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


def without_cyclic_gc(func):
    """Run func with Python's cyclic garbage collector paused (reference counting still frees
    everything at once). A visit batch allocates some 200 000 objects (rows, decimals, tuples): the
    collector would run its full pass over the whole Django process several times per batch
    for cycles the batch does not make — 15 % of a batch's CPU (bench/certified_visits.py). Nested
    and concurrent calls (threads) share one pause; the collector resumes when the last ends."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        global _gc_holders, _gc_was_enabled
        with _gc_lock:
            if _gc_holders == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_holders += 1
        try:
            return func(*args, **kwargs)
        finally:
            with _gc_lock:
                _gc_holders -= 1
                if _gc_holders == 0 and _gc_was_enabled:
                    gc.enable()

    return wrapper
