"""Issue #14 item 5: "one form per case page, so a button never discards what was entered", and
"a confirmation page for every action that moves money or cannot be undone" on the case page.

The step buttons submit the case's change form (medins.admin_workflow.WorkflowChangeFormMixin):
what was entered is saved and the case moves, in one transaction; an invalid page or a refused step
moves nothing, keeps nothing and shows the page again as it was entered."""

import datetime as dt

import pytest
from django.urls import reverse

from claims.models import CaseMaterial, PaymentOrder
from claims.services import case_calculate, case_start_review
from claims.workflow import CaseState
from tests.claims.factories import PersonFactory, cover, invoice
from tests.confirming import is_confirmation, page_data

pytestmark = pytest.mark.django_db


def _covered():
    person = PersonFactory(birth=dt.date(1980, 3, 1))
    cover(person)
    return person


def _open(client, case):
    url = reverse("admin:claims_case_change", args=[case.pk])
    response = client.get(url)
    assert response.status_code == 200
    return url, page_data(response)


def _tick_all(data):
    ticks = [key[: -len("-code")] for key in data if key.endswith("-id") and key.startswith("materials-")]
    for key in [k for k in data if k.startswith("materials-") and k.endswith("-id")]:
        data[key.replace("-id", "-received")] = "on"
    return ticks


def test_ticked_materials_are_saved_and_the_case_moves_with_one_button(new_case, reviewer, client):
    """The clerk ticks every material and presses "Start review": the ticks are kept (they were
    lost before: the button had its own form) and the case moves, which needs them all."""
    case = new_case(materials_received=[])
    client.force_login(reviewer)
    url, data = _open(client, case)
    assert not CaseMaterial.objects.filter(case=case, received=True).exists()
    _tick_all(data)
    response = client.post(url, {**data, "_workflow_step": "start_review"})
    assert response.status_code == 302 and response["Location"] == url  # back on the case page
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW
    assert not CaseMaterial.objects.filter(case=case, received=False).exists()


def test_an_invalid_page_moves_nothing_and_shows_the_errors(new_case, reviewer, client):
    case = new_case(materials_received=[])
    client.force_login(reviewer)
    url, data = _open(client, case)
    _tick_all(data)
    data["service_to"] = "2021-13-45"  # not a date
    response = client.post(url, {**data, "_workflow_step": "start_review"})
    assert response.status_code == 200 and response.context["errors"]
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED
    assert not CaseMaterial.objects.filter(case=case, received=True).exists()


def test_a_refused_step_keeps_nothing_and_shows_what_was_entered(new_case, reviewer, client):
    """Reject without a reason: refused; the ticks are neither saved nor lost from the page."""
    case = new_case(materials_received=[])
    client.force_login(reviewer)
    url, data = _open(client, case)
    _tick_all(data)
    response = client.post(url, {**data, "_workflow_step": "reject", "_workflow_reason_reject": ""})
    assert response.status_code == 200
    assert "需要填写理由" in response.content.decode() or "needs a reason" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED
    assert not CaseMaterial.objects.filter(case=case, received=True).exists()
    shown = response.context["inline_admin_formsets"][0].formset
    assert all(form["received"].value() for form in shown.forms)  # still ticked on the page shown again


def test_a_step_the_state_does_not_offer_is_refused_without_saving(new_case, reviewer, client):
    case = new_case(materials_received=[])
    client.force_login(reviewer)
    url, data = _open(client, case)
    _tick_all(data)
    response = client.post(url, {**data, "_workflow_step": "calculate"})  # a received case is not calculated
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED
    assert not CaseMaterial.objects.filter(case=case, received=True).exists()


def test_approving_from_the_case_page_asks_first_then_pays(new_case, reviewer, approver, client):
    """Approving orders the payment: the button shows the confirmation page (the case and the
    amount to pay) and changes nothing; its "Yes" (the same page posted with confirmed=yes) approves."""
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    case.refresh_from_db()
    client.force_login(approver)
    listed = client.get(reverse("admin:claims_case_changelist")).content.decode()
    assert f'<span class="money">{case.payable_amount:,.2f}</span>' in listed and "column-payable_amount money-col" in listed
    url, data = _open(client, case)
    first = client.post(url, {**data, "_workflow_step": "approve"})
    assert is_confirmation(first)
    body = first.content.decode()
    assert case.number in body and f'{case.payable_amount:,.2f}' in body
    assert 'name="_workflow_step" value="approve"' in body  # the page is carried to the "Yes"
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED and not PaymentOrder.objects.filter(case=case).exists()
    second = client.post(url, {**data, "_workflow_step": "approve", "confirmed": "yes"})
    assert second.status_code == 302
    case.refresh_from_db()
    assert case.state in (CaseState.APPROVED, CaseState.PAYMENT_ORDERED)


def test_reject_with_a_reason_asks_first(new_case, reviewer, client):
    case = new_case()
    client.force_login(reviewer)
    url, data = _open(client, case)
    post = {**data, "_workflow_step": "reject", "_workflow_reason_reject": "不符合报销范围"}
    assert is_confirmation(client.post(url, post))
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED
    client.post(url, {**post, "confirmed": "yes"})
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED and case.reason == "不符合报销范围"


def test_the_bulk_approve_action_asks_first(new_case, reviewer, approver, client):
    cases = [new_case(invoices=[invoice(number=f"B-{i}")], person=_covered()) for i in range(2)]  # two persons
    for case in cases:
        case_start_review(acting_user=reviewer, case=case)
        case_calculate(acting_user=reviewer, case=case)
    client.force_login(approver)
    changelist = reverse("admin:claims_case_changelist")
    data = {"action": "action_approve", "_selected_action": [c.pk for c in cases]}
    first = client.post(changelist, data)
    assert is_confirmation(first)
    assert all(c.number in first.content.decode() for c in cases)
    assert all(c.state == CaseState.CALCULATED for c in type(cases[0]).objects.filter(pk__in=[c.pk for c in cases]))
    done = client.post(changelist, {**data, "confirmed": "yes"}, follow=True)
    assert not [str(m) for m in done.context["messages"] if m.level_tag == "error"]
    assert not type(cases[0]).objects.filter(pk__in=[c.pk for c in cases], state=CaseState.CALCULATED).exists()
