"""Payment orders: the nightly bank payment file and the import of the bank's result file.

Two kinds of payee, one order table (claims.models.PaymentOrder, exactly one payee each):
- an insured person, for an approved reimbursement case: the nightly job orders every approved
  case (approved → payment_ordered) in the day's file;
- an institution, for an *institution payable*: anything the agency owes a designated institution
  once finance released it — a fee-for-service statement today (claims.settlement), a care
  home's monthly claim tomorrow (carecare). The one entry point is

      payment_order_for_institution(acting_user=, institution=, amount=, source_kind=, source_id=)

  called by the releasing service inside its own transaction: it creates the order (to the
  institution's bank account as recorded at that moment) with no file yet; the next nightly
  job puts every such order in its file. One live order per payable (source_kind, source_id;
  unique unless failed): calling it again returns the order already there, and a payable whose
  order failed at the bank may be ordered again. A new payable kind only adds its prefix to
  PAYABLE_REFERENCES (the reference printed in the file's case_no column) and calls the entry
  point; the bank result import marks its orders paid or failed like the cases' ones (the
  payable reads its order's status; no state of the payable is changed by the bank result).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from enrollment.models import Person
from medins.bulk import insert_history, marks, qn
from medins.parsing import (
    Column,
    FileError,
    ParseError,
    column_set,
    parse_text,
    read_records,
    rename_records,
    safe_cell,
)

from ..approval import approval_digest
from ..errors import ConcurrentChange, InvalidCase
from ..models import Case, CaseTransition, PaymentFile, PaymentFileStatus, PaymentOrder, PaymentOrderStatus
from ..workflow import CASES, CaseState

S = CaseState
BATCH_SIZE = 2000
log = logging.getLogger(__name__)
# Lock the cases only, not the persons joined for the payee's name (PostgreSQL; SQLite has no FOR UPDATE).
_OF_SELF = {"of": ("self",)}
# The file's columns: (key, the label in the file's header row). The labels are the file's own
# (Chinese, whatever the clerk's language): finance hands the file to the bank as it is (issue #14 item 2).
FILE_COLUMNS = (("order_no", "支付指令号"), ("case_no", "业务编号"), ("account_name", "收款人户名"),
                ("bank_account", "银行账号"), ("amount", "金额（元）"))
FILE_HEADER = [label for _key, label in FILE_COLUMNS]
BANK_ACCOUNT_COLUMN = dict(FILE_COLUMNS)["bank_account"]
# The reference of an institution payable in the file's case_no column: prefix + id.
PAYABLE_REFERENCES = {"fee_statement": "JS", "care_claim": "HL"}


class PaymentRefused(InvalidCase):
    code = "payment_refused"


def payable_reference(source_kind: str, source_id: int) -> str:
    return f"{PAYABLE_REFERENCES.get(source_kind, source_kind.upper() + '-')}{source_id:08d}"


@transaction.atomic
def payment_order_for_institution(*, acting_user, institution, amount: Decimal, source_kind: str,
                                  source_id: int) -> PaymentOrder:
    """The payment order of one institution payable (see the module docstring); idempotent per
    payable: its live order is returned if it has one."""
    from medins.models import Institution

    if not source_kind or source_id is None:
        raise PaymentRefused("an institution payment names what it pays (source_kind, source_id)")
    if amount is None or amount <= 0:
        raise PaymentRefused(_("Nothing to pay: the amount must be above zero."))
    live = (PaymentOrder.objects.filter(source_kind=source_kind, source_id=source_id)
            .exclude(status=PaymentOrderStatus.FAILED).first())
    if live is not None:
        return live
    institution = Institution.objects.get(pk=institution.pk)
    if not institution.bank_account or not institution.bank_account_name:
        raise PaymentRefused(_("%(institution)s has no bank account on record: enter it before releasing a payment.")
                             % {"institution": institution.name})
    # DOMAIN.md §9: the institution's outstanding recovery orders are offset against what it is
    # paid (never below zero, once per payable); an order fully offset is settled without the bank.
    from ..supervision.recovery import recovery_offsets_apply, recovery_offsets_record

    try:
        with transaction.atomic():
            net, offsets = recovery_offsets_apply(institution_id=institution.pk, amount=amount, source_kind=source_kind,
                                                  source_id=source_id)
            order = PaymentOrder(payee_institution=institution, source_kind=source_kind, source_id=source_id,
                                 amount=net, bank_account=institution.bank_account,
                                 account_name=institution.bank_account_name)
            if net <= 0:
                order.status, order.settled_at = PaymentOrderStatus.PAID, timezone.now()
                # stored as written, in the active language (the default zh-hans in a job)
                order.bank_message = _("Fully offset against recovery orders; not sent to the bank")
            order._history_user = acting_user
            order.save()
            recovery_offsets_record(offsets, order)
    except IntegrityError:  # ordered concurrently: the other order stands
        return PaymentOrder.objects.filter(source_kind=source_kind, source_id=source_id).exclude(
            status=PaymentOrderStatus.FAILED).get()
    return order
RESULT_HEADER = ["order_no", "result", "message"]
# The bank's result file: its English headers or Chinese ones (issue 14 item 4); result success/failed or 成功/失败.
RESULT_COLUMNS = column_set(Column("order_no", "支付单号", ("订单号",)), Column("result", "结果", ("支付结果",)),
                            Column("message", "说明", ("银行说明", "备注")))
RESULT_WORDS = {"success": "success", "failed": "failed", "成功": "success", "失败": "failed"}


def _render(payment_file: PaymentFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FILE_HEADER)
    for pk, case_id, kind, source, name, account, amount in (payment_file.orders.order_by("pk").values_list(
            "pk", "case_id", "source_kind", "source_id", "account_name", "bank_account", "amount")):
        # Text from outside is neutralised against formula injection (issue 11 item 4) even though the
        # account is checked at input: rows written before that check may hold anything.
        reference = f"BX{case_id:08d}" if case_id is not None else payable_reference(kind, source)
        writer.writerow([f"ZF{pk:08d}", reference, safe_cell(name), safe_cell(account), f"{amount:.2f}"])
    return out.getvalue()


@CASES.service
def payment_orders_create(*, acting_user, pay_date: dt.date, progress=None) -> tuple[PaymentFile | None, bool]:
    """approved cases → payment orders in the one bank payment file of the day (nightly job).

    Idempotent: the day's file exists once (unique pay_date); a second run the same day — or a
    concurrent one — creates nothing and returns (file, False). Cases approved later go into
    the next day's file. Works in batches of BATCH_SIZE cases locked in pk order.

    `progress(done, total)`, when given, is called before the first batch and after each one
    (the background job's progress bar, medins.jobs); the job is one transaction, so a failure
    leaves nothing behind and running it again orders each case once.
    """
    try:
        with transaction.atomic():
            payment_file = PaymentFile.objects.create(pay_date=pay_date)
            _fill(payment_file, acting_user, **({"progress": progress} if progress else {}))
    except IntegrityError:
        return PaymentFile.objects.filter(pay_date=pay_date).first(), False
    return payment_file, True


def _fill(payment_file: PaymentFile, acting_user, progress=None) -> None:
    """Batches of BATCH_SIZE approved cases, locked in pk order; per batch a fixed number of set-based statements.

    Per batch: one locking read of the ids, then INSERT ... SELECT of the orders (with the
    account holder's name), one conditional UPDATE of the states, and INSERT ... SELECT of the
    transitions and of the history rows of the cases and of the orders. No model instance is
    built per case: at 100 000 cases building them was most of the job's time.
    """
    CASES.check(S.APPROVED, S.PAYMENT_ORDERED)  # this service's edge of the table (set-based below)
    last_pk = 0
    now = timezone.now()
    reason = _("Payment file %(date)s") % {"date": payment_file.pay_date}  # stored as written
    held = []
    done, total = 0, 0
    if progress is not None:
        total = Case.objects.filter(state=S.APPROVED).count()
        progress(0, total)
    while True:
        if progress is not None and done:
            progress(min(done, total), total)
        rows = list(Case.objects.filter(state=S.APPROVED, pk__gt=last_pk).order_by("pk").select_for_update(**_OF_SELF)
                    .values_list("pk", "payable_amount", "person__name", "bank_account", "approval_digest")[:BATCH_SIZE])
        if not rows:
            break
        last_pk = rows[-1][0]
        done += len(rows)
        # Pay exactly what was approved: amount, payee and account as the approval digest holds them.
        ids = []
        for pk, amount, payee, account, digest in rows:
            if digest and constant_time_compare(digest, approval_digest(case_id=pk, amount=amount, payee=payee,
                                                                        account=account)):
                ids.append(pk)
            else:
                held.append({"case": Case(pk=pk).number, "reason": _(
                    "Amount, payee or account differs from the approval; not paid")})
        if not ids:
            continue
        with connection.cursor() as cursor:
            _insert_orders(cursor, payment_file, ids, now)
            changed = Case.objects.filter(pk__in=ids, state=S.APPROVED).update(state=S.PAYMENT_ORDERED, state_changed_at=now)
            if changed != len(ids):  # cannot happen under the locks; refuse rather than pay twice
                raise RuntimeError("cases changed while being ordered")
            _insert_transitions(cursor, ids, actor=acting_user, at=now, reason=reason)
            insert_history(cursor, Case, f"{qn('id')} IN ({marks(ids)})", ids, user=acting_user, date=now,
                            reason="approved → payment_ordered", kind="~")
            insert_history(cursor, PaymentOrder, f"{qn('payment_file_id')} = %s AND {qn('case_id')} IN ({marks(ids)})",
                            [payment_file.pk, *ids], user=acting_user, date=now, reason="", kind="+")
    _attach_institution_orders(payment_file, acting_user, now)
    agg = payment_file.orders.aggregate(total=Sum("amount"), count=Count("pk"))
    payment_file.order_count = agg["count"]
    payment_file.total_amount = agg["total"] or Decimal("0.00")
    payment_file.content = _render(payment_file)
    if held:
        log.warning("payment file %s: %d approved case(s) held back, changed since approval", payment_file.pay_date,
                    len(held))
    payment_file.held = held
    payment_file.save(update_fields=["order_count", "total_amount", "content", "held"])


def _attach_institution_orders(payment_file: PaymentFile, acting_user, now) -> None:
    """Every institution order not in a file yet (released payables) joins the day's file."""
    while True:
        ids = list(PaymentOrder.objects.filter(payment_file__isnull=True, case__isnull=True,
                                               status=PaymentOrderStatus.ORDERED)
                   .order_by("pk").select_for_update().values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return
        PaymentOrder.objects.filter(pk__in=ids, payment_file__isnull=True).update(payment_file=payment_file)
        with connection.cursor() as cursor:
            insert_history(cursor, PaymentOrder, f"{qn('id')} IN ({marks(ids)})", ids, user=acting_user, date=now,
                           reason=_("Payment file %(date)s") % {"date": payment_file.pay_date}, kind="~")


def _insert_orders(cursor, payment_file: PaymentFile, ids: list[int], now) -> None:
    case, person, order = Case._meta.db_table, Person._meta.db_table, PaymentOrder._meta.db_table
    cursor.execute(
        f"INSERT INTO {qn(order)} (case_id, payment_file_id, amount, bank_account, account_name, status, bank_message, "
        f"created_at, source_kind) "
        f"SELECT c.id, %s, COALESCE(c.payable_amount, 0), c.bank_account, p.name, %s, '', %s, '' "
        f"FROM {qn(case)} c JOIN {qn(person)} p ON p.id = c.person_id WHERE c.id IN ({marks(ids)}) ORDER BY c.id",
        [payment_file.pk, PaymentOrderStatus.ORDERED, now, *ids])


def _insert_transitions(cursor, ids: list[int], *, actor, at, reason: str) -> None:
    cursor.execute(
        f"INSERT INTO {qn(CaseTransition._meta.db_table)} (case_id, from_state, to_state, actor_id, at, reason) "
        f"SELECT id, %s, %s, %s, %s, %s FROM {qn(Case._meta.db_table)} WHERE id IN ({marks(ids)}) ORDER BY id",
        [S.APPROVED, S.PAYMENT_ORDERED, actor.pk, at, reason, *ids])


def _order_pk(text: str) -> int | None:
    text = (text or "").strip().upper()
    if text.startswith("ZF"):
        text = text[2:]
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


@CASES.service
@transaction.atomic
def payment_result_import(*, acting_user, content: str | bytes, filename: str = "result.csv") -> dict:
    """The bank's result file (order_no,result,message; result success|failed) marks orders and cases.

    Read by the one file reader (medins.parsing: UTF-8 with or without BOM or GB18030, CSV or
    XLSX, within the staff import limits); a bad row is reported by its line, never raised.
    Idempotent: an order already settled is counted as unchanged; unknown orders are reported.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        header, rows = read_records(filename, data, max_bytes=settings.STAFF_IMPORT_MAX_BYTES,
                                    max_rows=settings.STAFF_IMPORT_MAX_ROWS, line_key="_line")
    except FileError as exc:
        raise InvalidCase(exc.localized(), field="file") from None
    try:
        rows = rename_records(rows, RESULT_COLUMNS, RESULT_HEADER[:2])
    except FileError as exc:
        raise InvalidCase(exc.localized(), field="file") from None
    wanted = {}
    errors = []
    for row in rows:
        line = row["_line"]
        pk = _order_pk(row.get("order_no"))
        result = RESULT_WORDS.get((row.get("result") or "").strip().lower(), "")
        if pk is None or not result:
            errors.append({"line": line, "error": _("order number or result (success/failed, 成功/失败) is invalid")})
            continue
        try:
            message = parse_text(row.get("message"), "message", max_length=None)[:200]
        except ParseError as exc:
            errors.append({"line": line, "error": exc.localized()})
            continue
        wanted[pk] = (result, message, line)
    counts = {"paid": 0, "failed": 0, "unchanged": 0, "errors": errors}
    orders = {o.pk: o for o in PaymentOrder.objects.filter(pk__in=list(wanted)).order_by("pk").select_for_update()}
    now = timezone.now()
    settle = []
    for pk, (result, message, line) in sorted(wanted.items()):
        order = orders.get(pk)
        if order is None:
            errors.append({"line": line, "error": _("order ZF%(pk)08d does not exist") % {"pk": pk}})
            continue
        if order.status != PaymentOrderStatus.ORDERED:
            counts["unchanged"] += 1
            continue
        order.status = PaymentOrderStatus.PAID if result == "success" else PaymentOrderStatus.FAILED
        order.bank_message = message
        order.settled_at = now
        settle.append(order)
        counts["paid" if result == "success" else "failed"] += 1
    for start in range(0, len(settle), BATCH_SIZE):
        _settle(settle[start:start + BATCH_SIZE], acting_user=acting_user, now=now)
    PaymentFile.objects.filter(pk__in={o.payment_file_id for o in settle}).update(status=PaymentFileStatus.RESULT_IMPORTED)
    return counts


def _settle(orders: list[PaymentOrder], *, acting_user, now) -> None:
    """Orders marked paid/failed and their cases moved payment_ordered → paid / payment_failed, set-based.

    The same checks and records as _move per case (transitions table, conditional update on the
    state read, history row with the author, a transition with the bank's message), per batch.
    """
    case_ids = [o.case_id for o in orders if o.case_id is not None]  # institution orders have no case
    cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).order_by("pk").select_for_update()}
    for order in orders:
        if order.case_id is None:
            continue
        case = cases[order.case_id]
        to = S.PAID if order.status == PaymentOrderStatus.PAID else S.PAYMENT_FAILED
        CASES.check(case.state, to, obj=case)
    PaymentOrder.objects.bulk_update(orders, ["status", "bank_message", "settled_at"])
    transitions = []
    with connection.cursor() as cursor:
        insert_history(cursor, PaymentOrder, f"{qn('id')} IN ({marks(orders)})", [o.pk for o in orders], user=acting_user,
                       date=now, reason="", kind="~")
        for to in (S.PAID, S.PAYMENT_FAILED):
            status = PaymentOrderStatus.PAID if to == S.PAID else PaymentOrderStatus.FAILED
            group = [o for o in orders if o.status == status and o.case_id is not None]
            if not group:
                continue
            ids = [o.case_id for o in group]
            # The case's reason becomes the bank's answer (none when paid): an earlier reason (e.g.
            # the missing materials) must not read as why the payment failed (issue #14).
            if Case.objects.filter(pk__in=ids, state=S.PAYMENT_ORDERED).update(state=to, state_changed_at=now,
                                                                                reason="") != len(ids):
                raise ConcurrentChange(_("cases were changed by someone else while the bank result was imported; import it again"))
            if to == S.PAYMENT_FAILED:
                by_message: dict[str, list[int]] = {}
                for o in group:
                    by_message.setdefault(o.bank_message or _("Bank payment failed"), []).append(o.case_id)
                for message, message_ids in sorted(by_message.items()):
                    Case.objects.filter(pk__in=message_ids).update(reason=message)
            insert_history(cursor, Case, f"{qn('id')} IN ({marks(ids)})", ids, user=acting_user, date=now,
                           reason=f"{S.PAYMENT_ORDERED.value} → {to.value}", kind="~")
            default = _("Bank payment succeeded") if to == S.PAID else _("Bank payment failed")
            transitions += [CaseTransition(case_id=o.case_id, from_state=S.PAYMENT_ORDERED, to_state=to, actor=acting_user,
                                           reason=o.bank_message or default) for o in group]
    CaseTransition.objects.bulk_create(transitions)
