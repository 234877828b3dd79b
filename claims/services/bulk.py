"""Set-based helpers of the bulk services (school batches, the nightly payment job)."""

from __future__ import annotations

from django.db import connection

_HISTORY_COLUMNS = ["history_date", "history_change_reason", "history_type", "history_user_id"]


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def marks(values) -> str:
    return ", ".join(["%s"] * len(values))


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
        [date, reason or None, kind, user.pk, *params])
