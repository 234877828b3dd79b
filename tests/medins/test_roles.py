"""Roles as groups with the permissions each needs (issue #2, item 6)."""

from django.contrib.auth.models import Group

from medins.demo import DEMO_PASSWORD, demo_users_ensure
from medins.roles import ROLES, roles_sync


def perms(group_name):
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=group_name).permissions.select_related("content_type")}


def test_every_role_is_a_group(db):
    roles_sync()
    assert set(Group.objects.values_list("name", flat=True)) >= {r.code for r in ROLES}


def test_policy_admin_may_edit_parameters_and_supervisor_only_reads(db):
    roles_sync()
    assert {"medins.change_policyparameter", "medins.add_policyversion"} <= perms("policy_admin")
    supervisor = perms("supervisor")
    assert "medins.view_policyparameter" in supervisor
    # only fund supervision's own records (findings, grey list: issue 15 item 3) are the supervisor's to change
    assert not any(code.split(".")[1].startswith(("add_", "change_", "delete_")) for code in supervisor
                   if not code.startswith("supervision."))


def test_clerks_cannot_edit_policy(db):
    roles_sync()
    for role in ("intake_clerk", "reviewer", "approver", "finance"):
        assert "medins.change_policyparameter" not in perms(role)
        assert "medins.view_policyparameter" in perms(role)


def test_roles_sync_is_idempotent(db):
    first = roles_sync()
    assert roles_sync() == first
    assert Group.objects.filter(name="reviewer").count() == 1


def test_demo_users_log_in_with_their_role(client, db):
    names = demo_users_ensure()
    demo_users_ensure()
    assert {"admin", "reviewer", "reviewer2", "policy_admin", "school_operator"} <= set(names)
    assert client.login(username="policy_admin", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_only_the_policy_admin_edits_case_types_and_nobody_deletes_persons(db):
    """Case types are policy data (issue #4 item 1): clerks read them, the policy administrator edits them."""
    roles_sync()
    for role in ("intake_clerk", "reviewer", "approver", "finance"):
        assert "claims.change_casetype" not in perms(role)
        assert "claims.view_casetype" in perms(role)
        assert "enrollment.delete_person" not in perms(role)
    assert "claims.change_casetype" in perms("policy_admin")
    assert "claims.change_case" in perms("reviewer")


def test_settlement_runs_are_started_by_a_clerk_and_released_by_finance(db):
    """Issue #5: a clerk starts the run, finance releases statements (four-eyes enforced in the service)."""
    roles_sync()
    assert "settlement.start_settlementrun" in perms("reviewer")
    assert "settlement.release_institutionsettlement" in perms("finance")
    assert "settlement.release_institutionsettlement" not in perms("reviewer")
    assert "settlement.view_statement" not in perms("school_operator")
    # the supervisor reads everything and acts only on fund supervision (issue 15 item 3: findings, grey list)
    assert all(code.split(".")[1].startswith("view_") for code in perms("supervisor") if not code.startswith("supervision."))
    assert any(code.startswith("settlement.") for code in perms("supervisor"))


def test_only_the_supervisor_confirms_findings_and_keeps_the_grey_list(db):
    """Issue 15 item 3: findings are decided by supervisors (a second supervisor approves: four eyes, in the service)."""
    roles_sync()
    for role in ROLES:
        held = perms(role.code)
        assert ("supervision.confirm_finding" in held) == (role.code == "supervisor"), role
        assert ("supervision.add_greylistentry" in held) == (role.code == "supervisor"), role


def test_no_role_holds_what_is_the_administrators_alone(db):
    """Issue #11 item 1 and findings 4, 8: operator accounts and scheduled jobs are the administrator's alone."""
    roles_sync()
    for role in ROLES:
        held = perms(role.code)
        assert not any(p.startswith(("django_celery_beat.", "django_celery_results.", "auth.", "authtoken.", "axes.")) for p in held), role
        assert not any(p.endswith(("_schooloperator", "_institutionoperator")) for p in held), role


def test_approve_and_bank_results_each_belong_to_one_role(db):
    """Issue #11 findings 2 and 3: approve is the approver's alone, the bank result import finance's."""
    roles_sync()
    assert [r.code for r in ROLES if "claims.approve_case" in perms(r.code)] == ["approver"]
    assert [r.code for r in ROLES if "claims.import_bank_result" in perms(r.code)] == ["finance"]
