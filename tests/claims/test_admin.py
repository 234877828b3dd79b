"""Admin of cases: queues, bounded query counts, the case page with its breakdown and transition buttons."""

import pytest
from django.urls import reverse

from claims.services import case_calculate, case_request_materials, case_start_review
from claims.workflow import CaseState
from tests.claims.factories import invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.mark.parametrize("rows", [3, 30])
def test_case_changelist_query_count_is_bounded(new_case, reviewer_client, django_assert_max_num_queries, rows):
    """DESIGN: list_select_related; the same bound for 3 and 30 rows."""
    for i in range(rows):
        new_case(invoices=[invoice(number=f"Q-{i}")])
    with django_assert_max_num_queries(14):
        response = reviewer_client.get(reverse("admin:claims_case_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count("BX0") >= rows


def test_queue_filter_shows_cases_to_approve(new_case, reviewer, reviewer_client):
    """Work queues per role: 'to approve' lists calculated cases only."""
    waiting = new_case(invoices=[invoice(number="W-1")])
    calculated = new_case(invoices=[invoice(number="C-1")])
    case_start_review(acting_user=reviewer, case=calculated)
    case_calculate(acting_user=reviewer, case=calculated)
    body = reviewer_client.get(reverse("admin:claims_case_changelist") + "?queue=approve").content.decode()
    assert calculated.number in body and waiting.number not in body


def test_list_masks_id_numbers(new_case, reviewer_client):
    """DESIGN personal data: ID numbers masked in lists."""
    case = new_case()
    body = reviewer_client.get(reverse("admin:claims_case_changelist")).content.decode()
    assert case.person.masked_id_number in body and case.person.id_number not in body


def test_case_page_shows_breakdown_checklist_and_history(new_case, reviewer, reviewer_client):
    case = new_case()
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    body = reviewer_client.get(reverse("admin:claims_case_change", args=[case.pk])).content.decode()
    assert "220100-2021" in body and "band_fund" in body  # the readable breakdown
    assert "情况说明" in body  # checklist
    assert 'data-action="approve"' in body


def test_transition_button_calls_the_service(new_case, reviewer_client):
    case = new_case()
    reviewer_client.post(reverse("admin:claims_case_act", args=[case.pk]), {"action": "start_review"})
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW


def test_reject_button_needs_a_reason(new_case, reviewer_client):
    case = new_case()
    reviewer_client.post(reverse("admin:claims_case_act", args=[case.pk]), {"action": "reject", "reason": ""})
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED


def test_printable_notice_lists_every_missing_material(new_case, reviewer, reviewer_client):
    """§6 一次性告知: a printable notice."""
    case = new_case(materials_received=["invoice"])
    notice = case_request_materials(acting_user=reviewer, case=case)
    body = reviewer_client.get(reverse("admin:claims_case_notice", args=[case.pk, notice.pk])).content.decode()
    for m in notice.missing:
        assert m["name"] in body


def test_clerk_adds_a_case_in_the_admin(reviewer_client, covered_adult, changchun_emergency):
    """The admin's add form calls case_receive (checklist created from the case type)."""
    data = {"case_type": changchun_emergency.pk, "person": covered_adult.pk, "service_from": "2021-06-01", "service_to": "2021-06-03",
            "institution_name": "外省医院", "institution_level": "secondary", "third_party_paid": "0", "bank_account": "6222000011112222",
            "invoices-TOTAL_FORMS": "1", "invoices-INITIAL_FORMS": "0", "invoices-0-issuer": "外省医院", "invoices-0-number": "A-9",
            "invoices-0-issued_on": "2021-06-03", "invoices-0-kind": "original", "invoices-0-class_a": "100", "invoices-0-class_b": "0",
            "invoices-0-class_c": "0"}
    response = reviewer_client.post(reverse("admin:claims_case_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    from claims.models import Case

    case = Case.objects.get()
    assert case.invoices.get().number == "A-9"
    assert case.materials.count() == 6


def test_case_page_lists_the_schools_attachments_with_download_links(new_case, reviewer_client):
    """Issue #4: the school's uploaded attachments are visible on the case page and downloadable."""
    case = new_case(attachments=[{"material": "invoice", "filename": "发票扫描.pdf", "content_type": "application/pdf",
                                  "content": b"%PDF-1.4 scan"}])
    attachment = case.attachments.get()
    url = reverse("admin:claims_case_attachment", args=[case.pk, attachment.pk])
    body = reviewer_client.get(reverse("admin:claims_case_change", args=[case.pk])).content.decode()
    assert url in body and "发票扫描.pdf" in body and "医院收费有效票据" in body  # the material's name, not its code
    response = reviewer_client.get(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.4 scan"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;") and "filename*=utf-8''" in response["Content-Disposition"]


def test_attachment_download_needs_the_right_to_view_cases(new_case, client, make_clerk):
    """DESIGN permissions: a staff user without the claims view permission cannot download a case's scans."""
    case = new_case(attachments=[{"filename": "a.pdf", "content": b"x"}])
    client.force_login(make_clerk("outsider", perms=()))
    response = client.get(reverse("admin:claims_case_attachment", args=[case.pk, case.attachments.get().pk]))
    assert response.status_code == 403


def test_attachment_of_another_case_is_not_served_under_this_case(new_case, reviewer_client):
    first = new_case(invoices=[invoice(number="AT-1")], attachments=[{"filename": "a.pdf", "content": b"x"}])
    other = new_case(invoices=[invoice(number="AT-2")])
    url = reverse("admin:claims_case_attachment", args=[other.pk, first.attachments.get().pk])
    assert reviewer_client.get(url).status_code == 404
