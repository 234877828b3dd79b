"""Roles as Django groups, and the permissions each needs.

Each role lists permission patterns `app_label.codename`; a trailing `*` matches every
codename with that prefix (e.g. `medins.view_*`); a leading `-` removes what it matches. Patterns for models that do not exist yet
simply match nothing, so later apps extend this one table rather than adding a second one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

OUR_APPS = ("medins", "enrollment", "claims", "ledger", "settlement", "carecare")
REFERENCE_READ = ["medins.view_*"]
# Full ID numbers and bank accounts: only the roles that verify identity or pay money.
REVEAL = "enrollment.reveal_personal_data"
# Outpatient-pool visits and sign-up lists (API and admin upload page).
POOL_UPLOADS = ("settlement.add_visit", "settlement.view_visit", "settlement.add_poolmembership",
                "settlement.view_poolmembership", "settlement.add_poolupload", "settlement.view_poolupload")
# Case types are policy: only the policy administrator edits them ("-" removes a match).
NO_POLICY_EDIT = ("-claims.add_casetype*", "-claims.change_casetype*", "-claims.delete_casetype*")


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    staff: bool  # may sign in to the agency admin
    permissions: tuple[str, ...]


ROLES: tuple[Role, ...] = (
    Role("intake_clerk", _("Intake clerk"), True, (*REFERENCE_READ, REVEAL, "enrollment.view_*", "enrollment.add_*", "enrollment.change_*", "claims.view_*", "claims.add_*", "claims.change_*", *NO_POLICY_EDIT, *POOL_UPLOADS)),
    Role("reviewer", _("Reviewer"), True, (*REFERENCE_READ, REVEAL, "enrollment.view_*", "claims.view_*", "ledger.view_*", "claims.change_*", *NO_POLICY_EDIT, "carecare.view_*", "carecare.change_*", "settlement.view_*", "settlement.start_settlementrun")),
    Role("approver", _("Approver"), True, (*REFERENCE_READ, REVEAL, "enrollment.view_*", "claims.view_*", "ledger.view_*", "claims.change_*", *NO_POLICY_EDIT, "carecare.view_*", "carecare.change_*")),
    Role("finance", _("Finance"), True, (*REFERENCE_READ, REVEAL, "enrollment.view_*", "enrollment.change_*", "claims.view_*", "ledger.view_*", "claims.change_*", *NO_POLICY_EDIT, "carecare.view_*", "settlement.view_*", "settlement.release_institutionsettlement", "settlement.start_settlementrun", "settlement.reopen_settlement_year")),
    Role(
        "policy_admin",
        _("Policy administrator"),
        True,
        (
            *REFERENCE_READ,
            "medins.add_*",
            "medins.change_*",
            "settlement.view_*",
            "claims.add_casetype",
            "claims.change_casetype",
            "claims.view_casetype",
            "claims.add_casetypematerial",
            "claims.change_casetypematerial",
            "claims.delete_casetypematerial",
            "claims.view_casetypematerial",
            "django_celery_beat.*",
        ),
    ),
    Role("supervisor", _("Supervisor (read-only)"), True, tuple(f"{app}.view_*" for app in OUR_APPS)),
    Role("school_operator", _("School operator"), False, ()),
    # Signs in to the admin for its own institution only (object-level checks in the settlement app).
    Role("institution_operator", _("Institution operator"), True, (*POOL_UPLOADS,)),
)

ROLE_BY_CODE = {role.code: role for role in ROLES}


def _matching(pattern: str, perms: list[Permission]) -> list[Permission]:
    app_label, _dot, codename = pattern.partition(".")
    if codename.endswith("*"):
        prefix = codename[:-1]
        return [p for p in perms if p.content_type.app_label == app_label and p.codename.startswith(prefix)]
    return [p for p in perms if p.content_type.app_label == app_label and p.codename == codename]


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create or update every role group with exactly the permissions its patterns give."""
    perms = list(Permission.objects.select_related("content_type"))
    counts = {}
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role.code)
        wanted = {p.pk for pattern in role.permissions if not pattern.startswith("-") for p in _matching(pattern, perms)}
        wanted -= {p.pk for pattern in role.permissions if pattern.startswith("-") for p in _matching(pattern[1:], perms)}
        group.permissions.set(wanted)
        counts[role.code] = len(wanted)
    return counts
