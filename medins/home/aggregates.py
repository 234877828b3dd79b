"""Days between two timestamps, and their median, on PostgreSQL and on SQLite (the demo's database).

PostgreSQL has ``percentile_cont``; SQLite has no median, so the SQLite connection gets a small
aggregate function (registered when a connection opens, see MedinsConfig.ready), as Django
itself registers its date functions there.
"""

from __future__ import annotations

from django.db.models import Aggregate, FloatField, Func


class DaysBetween(Func):
    """(end − start) in days, as a float; either side may be a date or a timestamp."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL and others with EXTRACT(EPOCH)
        return super().as_sql(compiler, connection,
                              template="(EXTRACT(EPOCH FROM (CAST(%(expressions)s AS TIMESTAMPTZ))) / 86400.0)",
                              arg_joiner=" AS TIMESTAMPTZ) - CAST(", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(JULIANDAY(%(expressions)s))",
                              arg_joiner=") - JULIANDAY(", **extra_context)


class Median(Aggregate):
    function = "PERCENTILE_CONT"
    name = "Median"
    output_field = FloatField()
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="MEDINS_MEDIAN", template="%(function)s(%(expressions)s)",
                              **extra_context)


class _SQLiteMedian:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(float(value))

    def finalize(self):
        if not self.values:
            return None
        values = sorted(self.values)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def sqlite_functions(sender, connection, **kwargs):
    """connection_created receiver: the median aggregate on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("MEDINS_MEDIAN", 1, _SQLiteMedian)
