"""Celery tasks of fund supervision (filled below)."""
