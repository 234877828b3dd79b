"""Admin of cases: queues, bounded query counts, the case page with its breakdown and transition buttons."""

import pytest
from django.urls import reverse

from claims.services import case_calculate, case_request_materials, case_start_review
from claims.workflow import CaseState
from tests.claims.factories import invoice
from tests.confirming import take_step

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
    # the readable breakdown: steps by their Chinese names, never the engine's codes (issue 14 item 4)
    assert "220100-2021" in body and "分段统筹基金支付" in body and "band_fund" not in body
    assert "情况说明" in body  # checklist
    assert 'data-action="approve"' in body


def test_transition_button_calls_the_service(new_case, reviewer_client):
    case = new_case()
    take_step(reviewer_client, reverse("admin:claims_case_change", args=[case.pk]), "start_review")
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW


def test_reject_button_needs_a_reason(new_case, reviewer_client):
    case = new_case()
    take_step(reviewer_client, reverse("admin:claims_case_change", args=[case.pk]), "reject", reason="", confirm=True)
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


# --------------------------------------------------------------------------- invoices through the services (issue #10 item 5)


def page_data(response) -> dict:
    """The change page's form as a browser posts it unchanged: main form, every inline and its management form."""
    data = {}

    def put(bound):
        value = bound.value()
        if value is None or value is False:
            return
        data[bound.html_name] = "on" if value is True else str(value)

    form = response.context["adminform"].form
    for name in form.fields:
        put(form[name])
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            put(formset.management_form[name])
        for f in formset.forms:
            for name in f.fields:
                put(f[name])
    return data


def test_an_invoice_edit_on_a_case_no_longer_editable_is_refused(new_case, reviewer, reviewer_client, monkeypatch):
    """Issue #10 item 5 / DOMAIN §6: invoice edits go through case_invoice_change, which re-checks under the
    case lock that the case is still open. The page was opened (and its inline shown editable) before
    another clerk calculated the case: the posted edit is refused, not written into a calculated case."""
    from claims.admin import InvoiceInline

    case = new_case(invoices=[invoice(number="E-1", a="100.00", b="0", c="0")])
    case_start_review(acting_user=reviewer, case=case)
    case_calculate(acting_user=reviewer, case=case)
    monkeypatch.setattr(InvoiceInline, "_editable", lambda self, obj: True)  # the check the page passed earlier
    url = reverse("admin:claims_case_change", args=[case.pk])
    data = page_data(reviewer_client.get(url))
    data["invoices-0-class_a"] = "9999.00"

    response = reviewer_client.post(url, data, follow=True)

    inv = case.invoices.get()
    assert inv.class_a == 100
    assert "发票不能再更改" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.CALCULATED


def test_an_invoice_claimed_by_another_case_is_refused_naming_it(new_case, reviewer_client, monkeypatch):
    """Issue #10 item 5 / DOMAIN §6, §9: adding an invoice in the admin goes through case_invoice_add,
    which refuses one already claimed and names the earlier case — also when the page's own check
    ran before the other case claimed it (simulated: the formset's check finds nothing)."""
    earlier = new_case(invoices=[invoice(number="D-1")])
    case = new_case(invoices=[invoice(number="D-2")])
    monkeypatch.setattr("claims.admin.invoice_conflict", lambda *a, **kw: None)
    url = reverse("admin:claims_case_change", args=[case.pk])
    data = page_data(reviewer_client.get(url))
    data.update({"invoices-TOTAL_FORMS": "2", "invoices-1-issuer": "吉林大学第一医院", "invoices-1-number": "d-1",
                 "invoices-1-issued_on": "2021-05-20", "invoices-1-kind": "original", "invoices-1-class_a": "10",
                 "invoices-1-class_b": "0", "invoices-1-class_c": "0"})

    response = reviewer_client.post(url, data, follow=True)

    assert earlier.number in response.content.decode()
    assert sorted(case.invoices.values_list("number", flat=True)) == ["D-2"]


def test_the_page_refuses_an_already_claimed_invoice_before_saving(new_case, reviewer_client):
    """DOMAIN §6: the formset names the earlier case at once (the common case, no race)."""
    earlier = new_case(invoices=[invoice(number="F-1")])
    case = new_case(invoices=[invoice(number="F-2")])
    url = reverse("admin:claims_case_change", args=[case.pk])
    data = page_data(reviewer_client.get(url))
    data["invoices-0-number"] = "F-1"

    response = reviewer_client.post(url, data)

    assert response.status_code == 200 and earlier.number in response.content.decode()
    assert case.invoices.get().number == "F-2"


def test_invoice_changes_and_removals_in_the_admin_are_audited(new_case, reviewer, reviewer_client):
    """DESIGN audit: the services record who changed and who removed an invoice."""
    from claims.models import Invoice

    case = new_case(invoices=[invoice(number="G-1"), invoice(number="G-2")])
    url = reverse("admin:claims_case_change", args=[case.pk])
    data = page_data(reviewer_client.get(url))
    first = next(k[:-len("-number")] for k, v in data.items() if k.startswith("invoices-") and v == "G-1")
    second = next(k[:-len("-number")] for k, v in data.items() if k.startswith("invoices-") and v == "G-2")
    data[f"{first}-class_c"] = "0.00"
    data[f"{second}-DELETE"] = "on"

    response = reviewer_client.post(url, data)

    assert response.status_code == 302
    kept = case.invoices.get()
    assert kept.number == "G-1" and kept.class_c == 0
    assert kept.history.latest().history_user == reviewer
    removed = Invoice.history.filter(number="G-2", history_type="-").get()
    assert removed.history_user == reviewer


def test_notice_date_is_the_agencys_date_everywhere(new_case, reviewer, reviewer_client):
    """§6 一次性告知, issue #14 item 8: a notice issued at 01:30 in Changchun (17:30 UTC the day
    before) reads the same date in its title as on the printed notice (Asia/Shanghai)."""
    import datetime as dt

    from claims.models import MaterialsNotice

    case = new_case(materials_received=["invoice"])
    notice = case_request_materials(acting_user=reviewer, case=case)
    MaterialsNotice.objects.filter(pk=notice.pk).update(issued_at=dt.datetime(2021, 6, 1, 17, 30, tzinfo=dt.UTC))
    notice.refresh_from_db()

    body = reviewer_client.get(reverse("admin:claims_case_notice", args=[case.pk, notice.pk])).content.decode()

    assert str(notice).endswith("2021-06-02")
    assert "日期：2021-06-02" in body
