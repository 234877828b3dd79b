"""The workflow table drives everything (issue 10 item 2, finding 2).

Each service takes only its own edges of claims.workflow.TRANSITIONS, through the one helper
medins.workflow.transition; each edge's guard runs in the service whoever calls it; the admin's
buttons and its action view come from the same table.
"""

import pytest
from django.urls import reverse

from claims.admin import case_actions_for
from claims.errors import GuardFailed, InvalidTransition, MaterialsMissing
from claims.models import Case, CaseMaterial, CaseTransition
from claims.services import case_calculate, case_return_for_review, case_start_review
from claims.services.cases import _move
from claims.workflow import CASES, TRANSITIONS, CaseState
from medins.workflow import running_service
from tests.confirming import take_step

pytestmark = pytest.mark.django_db
S = CaseState


def test_return_for_review_cannot_send_a_received_case_to_review(new_case, approver):
    """Issue 10 finding 2: a received case with every material missing went to review with no
    reviewer, through case_return_for_review. Its only edge is calculated → under_review."""
    case = new_case(materials_received=[])
    with pytest.raises(InvalidTransition):
        case_return_for_review(acting_user=approver, case=case, reason="back")
    case.refresh_from_db()
    assert (case.state, case.reviewed_by_id) == (S.RECEIVED, None)
    assert list(CaseTransition.objects.filter(case=case).values_list("to_state", flat=True)) == [S.RECEIVED]


def test_admin_action_view_refuses_a_step_the_table_does_not_give_the_state(new_case, client, reviewer):
    """Issue 10 finding 2: a plain POST to the admin's action view reached "return for review" on
    a received case. The case page accepts only the steps the table offers (the buttons)."""
    case = new_case(materials_received=[])
    client.force_login(reviewer)
    response = take_step(client, reverse("admin:claims_case_change", args=[case.pk]), "return_for_review", confirm=True)
    assert response.status_code == 200 and response.context["errors"]  # the page again, with the refusal
    case.refresh_from_db()
    assert case.state == S.RECEIVED and case.reviewed_by_id is None


def test_the_buttons_are_the_services_with_an_edge_out_of_the_state(new_case):
    """Issue 10 item 2: the admin's buttons come from the transitions table."""
    case = new_case()
    names = [name for name, _label in case_actions_for(case)]
    assert names == ["request_materials", "start_review", "reject", "withdraw"]
    for state in S.values:
        case.state = state
        services = set(CASES.services_from(state))
        from claims.admin import _ACTIONS
        assert {_ACTIONS[name][1] for name, _l in case_actions_for(case)} <= services
    case.state = S.CALCULATED
    assert [n for n, _l in case_actions_for(case)] == ["return_for_review", "approve", "reject", "withdraw"]


def test_a_guard_runs_whatever_the_service_is_called_by(new_case, reviewer, approver):
    """Issue 10 item 2: the edge's guard (reviewer set) holds for return for review too: a case
    calculated without a recorded reviewer (e.g. written by hand or by an import) is refused."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    Case.objects.filter(pk=case.pk).update(reviewed_by=None)
    with pytest.raises(GuardFailed, match="未记录审核人"):
        case_return_for_review(acting_user=approver, case=case)
    case.refresh_from_db()
    assert case.state == S.CALCULATED


def test_calculation_is_refused_when_a_material_was_withdrawn_during_review(new_case, reviewer):
    """Issue 10 item 2 (materials complete): un-ticking a material while under review blocks
    the calculation — the review's guard is the edge's, not only the first service's."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    CaseMaterial.objects.filter(case=case, code="statement").update(received=False)
    with pytest.raises(MaterialsMissing):
        case_calculate(acting_user=reviewer, case=case)
    case.refresh_from_db()
    assert case.state == S.UNDER_REVIEW


def test_no_code_outside_the_services_can_move_a_case(new_case, reviewer):
    """Issue 10 item 2: the helper checks that the running service owns the edge; outside any
    service (a view, a shell, a task calling _move) nothing moves."""
    case = new_case()
    assert running_service() is None
    with pytest.raises(InvalidTransition):
        _move(case, S.UNDER_REVIEW, acting_user=reviewer, fields={"reviewed_by": reviewer})
    case.refresh_from_db()
    assert case.state == S.RECEIVED


def test_every_service_of_the_table_is_a_declared_workflow_service():
    """Each name of the table is a function marked as that workflow's service."""
    from claims import services

    for name in set(TRANSITIONS.values()):
        assert getattr(getattr(services, name), "workflow_service", None) == name, name


def test_one_service_cannot_take_another_services_edge(new_case, reviewer):
    """medins.workflow: the edge received → under_review is case_start_review's; inside another
    service (here case_reject's context) it is refused."""
    case = new_case()

    @CASES.service
    def case_reject(**_kwargs):
        return _move(case, S.UNDER_REVIEW, acting_user=reviewer, fields={"reviewed_by": reviewer})

    with pytest.raises(InvalidTransition) as info:
        case_reject()
    assert "case_start_review" in info.value.why
