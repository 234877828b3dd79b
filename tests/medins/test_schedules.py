"""The periodic schedule is declared in one place and editable in the admin (DESIGN: jobs)."""

from django_celery_beat.models import PeriodicTask

from medins.schedules import SCHEDULES, schedules_sync


def test_sync_creates_every_declared_schedule_once(db):
    assert set(schedules_sync().values()) == {"created"}
    assert set(schedules_sync().values()) == {"kept"}
    assert PeriodicTask.objects.count() == len(SCHEDULES)


def test_an_operator_edit_survives_a_sync(db):
    """An operations edit in the admin (here: a new hour) is not overwritten by the next sync."""
    schedules_sync()
    task = PeriodicTask.objects.get(task="claims.payment_orders_nightly")
    task.crontab.hour = "2"
    task.crontab.save()
    task.enabled = False
    task.save()
    schedules_sync()
    task.refresh_from_db()
    assert (task.crontab.hour, task.enabled) == ("2", False)
