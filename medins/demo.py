"""Demo accounts: one user per role plus a superuser, all with the same documented password.

Only for the local demo (the README says so); never run against production data.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .roles import ROLES, roles_sync

DEMO_PASSWORD = "demo1234"
DEMO_ADMIN = "admin"


@transaction.atomic
def demo_users_ensure() -> list[str]:
    roles_sync()
    User = get_user_model()
    names = []
    admin, created = User.objects.get_or_create(username=DEMO_ADMIN, defaults={"is_staff": True, "is_superuser": True})
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    names.append(DEMO_ADMIN)
    for role in ROLES:
        for suffix in ("", "2") if role.code in ("reviewer", "approver", "assessor", "supervisor") else ("",):
            username = f"{role.code}{suffix}"
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": role.staff})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role.code))
            names.append(username)
    return names
