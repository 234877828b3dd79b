"""A paid settlement as a recovery re-quotes it, one class per settlement kind (DOMAIN.md §9
"Recovery", issue 15 item 4).

Each class gives the corrections (corrections.py) the settlement's facts as a :class:`Stay` (dates,
bill, itemised lines), says what was paid (``fund_paid``, ``person_paid``) and to whom, reverses
its ledger entries and re-quotes a corrected :class:`Stay` with the benefit's own engine on the
person's year-to-date figures as they stand after the reversal, posting the corrected entry:

- ``CaseSettlement`` — a reimbursement case (manual or school batch): the quote engine on the
  case's request (claims.calculation.quote_request), the bill the corrected one;
- ``PoolVisitSettlement`` — an outpatient-pool visit: the engine's ``outpatient_pool`` terms and
  split, as visit ingestion computes it (claims/settlement/services/visits.py);
- ``CertifiedVisitSettlement`` — a chronic, special-disease, special-drug or 两病 visit: the
  engine's terms and split of its benefit, as certified ingestion computes it (level paid at,
  certified diseases, 两病 insulin, the ledger scope of its cap);
- ``StaySettlement`` — a direct inpatient stay (claims.settlement.InpatientStay), paid to the
  hospital: the inpatient engine on the stay's request (services.stays.stay_request), the corrected
  bill the sum of the lines left by their own class (the sender gives each line's class);
- ``CareLineSettlement`` — a resident's line of a monthly care claim: the care-claim checks and
  the long-term-care engine (carecare.claim_checks.evaluate_line) on the days kept, on the
  claim's facts as they stand now.

Decisions (DOMAIN.md is silent):
- A visit's bill and the care line's days stay as recorded on the settlement; the record itself
  is never rewritten (the order holds the difference, the ledger the corrected figures).
- A pool visit is paid to its institution by capitation (DOMAIN.md §8: the month's actual up to
  its quota, the year end against the annual quota), not visit by visit. Its re-quote therefore
  also corrects the visit's fund and its institution's capitation account
  (claims/settlement/services/pool_corrections.py, whose docstring gives the decisions), and says
  in ``not_received`` the part of the fund's difference the institution was never paid (a month
  over its quota, a visit not settled yet, half of it once the year-end has settled the year
  under quota): the order is the fund's difference minus that part. The account row is locked
  before the visit's ledger entries (the order ingestion and the runs take the locks in).
- A settlement that should not have been paid at all (``None``): the fund owes nothing and the
  person bears the whole bill; a care line's refused days are borne by neither (as the care-claim
  checks treat refused days), so a care line is always re-evaluated, with no day if need be.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext

from enrollment.messages import error_text, localized

from . import corrections as C
from .errors import RecoveryRefused

ZERO = Decimal("0.00")
ONE_DAY = dt.timedelta(days=1)


def _refuse(message: str):
    raise RecoveryRefused(message)


class Requoted(NamedTuple):
    """The settlement as it should have been: what the fund and the person should have paid."""

    fund: Decimal
    person: Decimal
    detail: dict
    # of the fund's difference (paid − should have paid), what the institution never received
    # (capitation, pool visits only); the order is the difference minus it
    not_received: Decimal = ZERO


def _lines_of(kind: str, object_id: int) -> tuple:
    from .models import SettlementLine

    return tuple({"date": d, "item": item, "kind": k, "quantity": q, "amount": a, "days_supply": s, "drug": drug,
                  "class": c}
                 for d, item, k, q, a, s, drug, c in SettlementLine.objects.filter(kind=kind, object_id=object_id)
                 .order_by("date", "pk").values_list("date", "item", "line_kind", "quantity", "amount", "days_supply",
                                                     "drug", "cost_class"))


def _policy(region: str, day: dt.date):
    from medins.selectors import policy_in_force

    return policy_in_force(region=region, date=day)


def _cannot(reason) -> str:
    """A re-quote the engine (or the case's calculation) refused, with its reason."""
    return gettext("Cannot re-quote: %(reason)s") % {"reason": reason}


def _refuse_missing(parameter, region, date):
    """A parameter the policy does not define: the recovery names it and computes nothing (DOMAIN.md:
    "refuses to compute and says which parameter is missing — it never guesses")."""
    _refuse(gettext('Cannot re-quote: policy parameter "%(parameter)s" is not defined for region %(region)s on '
                    '%(date)s; the system does not guess amounts, and no recovery order was made.')
            % {"parameter": parameter, "region": region, "date": date})


def _engine(call):
    """The engine's refusal (QuoteError) as the recovery's, in the active language."""
    from medins.benefits.errors import MissingParameter, QuoteError

    try:
        return call()
    except MissingParameter as exc:
        _refuse_missing(exc.parameter, exc.region, exc.date)
    except QuoteError as exc:
        _refuse(_cannot(localized(exc)))


def _category(person, day: dt.date) -> str:
    return _engine(lambda: person.category_on(day))


class _Settlement:
    kind = ""
    source_kind = ""  # the ledger's source kind (claims.ledger.models.SourceKind)
    ref = ""
    person_id = 0
    benefit = ""
    via = "direct"
    institution = None
    person = None
    stay: C.Stay
    fund_paid = ZERO
    person_paid = ZERO
    third_party = ZERO

    @property
    def source_id(self) -> int:
        raise NotImplementedError

    def reverse(self, *, acting_user, note: str) -> None:
        from claims.ledger.services import ledger_reverse

        ledger_reverse(acting_user=acting_user, source_kind=self.source_kind, source_id=self.source_id, note=note)

    def requote(self, stay: C.Stay | None, *, acting_user, note: str) -> Requoted:
        """Re-quote (after `reverse`) and post the corrected ledger entry; None: not to be paid."""
        if stay is None:
            return Requoted(ZERO, self.stay.total, {})
        return self._requote(stay, acting_user=acting_user, note=note)

    def _requote(self, stay: C.Stay, *, acting_user, note: str) -> Requoted:
        raise NotImplementedError

    def _post(self, *, acting_user, day: dt.date, figures, accounts: dict, item: str = "", note: str) -> None:
        from claims.ledger.services import Posting, ledger_post

        if not figures:
            return
        ledger_post(acting_user=acting_user, postings=[Posting(
            person_id=self.person_id, service_date=day, benefit=self.benefit, item=item, source_kind=self.source_kind,
            source_id=self.source_id, note=note[:200], figures=figures)],
            read=accounts.read)


class _QuotedSettlement(_Settlement):
    """A settlement the quote engine computes from one request (contracts/quote.md): re-quoted on
    the year-to-date figures left after the reversal, the corrected entry posted."""

    def request(self, stay: C.Stay, ytd: dict) -> dict:
        raise NotImplementedError

    def _requote(self, stay: C.Stay, *, acting_user, note: str) -> Requoted:
        from claims.ledger import keys as ledger_keys
        from claims.ledger.selectors import accounts_of
        from medins.quoting import quote_or_error

        accounts = accounts_of(self.person_id, stay.admitted.year, self.benefit, lock=True)
        request = self.request(stay, ledger_keys.year_to_date(self.benefit, accounts))
        request["service_date"] = stay.admitted.isoformat()
        ok, body = quote_or_error(request)
        if not ok:
            error = body["error"]
            if error.get("code") == "missing_parameter":
                _refuse_missing(error.get("parameter"), error.get("region"), error.get("date"))
            _refuse(_cannot(error_text(error)))
        self._post(acting_user=acting_user, day=stay.admitted, figures=ledger_keys.effect(self.benefit, body),
                   accounts=accounts, note=note)
        fund = Decimal(body["fund"]) + Decimal(body["catastrophic"])
        return Requoted(fund, Decimal(body["total"]) - fund, body)


# --------------------------------------------------------------------------- reimbursement cases


class CaseSettlement(_QuotedSettlement):
    """A paid reimbursement case as the correction and the re-quote need it."""

    kind = source_kind = "case"
    via = "manual"

    def __init__(self, case_id: int):
        from claims.calculation import bill_of, deduct_third_party
        from claims.models import Case

        self.case = (Case.objects.select_related("case_type", "person__region", "institution")
                     .prefetch_related("invoices").get(pk=case_id))
        case = self.case
        self.ref, self.person_id, self.person, self.institution = f"case:{case.pk}", case.person_id, case.person, case.institution
        self.benefit = case.case_type.benefit
        self.third_party = case.third_party_paid or ZERO
        bill, _deducted = deduct_third_party(bill_of(case.invoices.all()), case.third_party_paid)
        self.stay = C.Stay(ref=self.ref, admitted=case.service_from, discharged=case.service_to or case.service_from,
                           bill=bill, lines=_lines_of("case", case.pk))
        self.fund_paid = (case.fund_amount or ZERO) + (case.catastrophic_amount or ZERO)
        self.person_paid = self.stay.total - self.fund_paid

    @property
    def source_id(self) -> int:
        return self.case.pk

    def request(self, stay: C.Stay, ytd: dict) -> dict:
        from claims.calculation import quote_request
        from medins.benefits.rounding import money_str

        category = _category(self.case.person, self.case.service_from)
        try:
            request, _adjust = quote_request(self.case, invoices=list(self.case.invoices.all()), category=category,
                                             ytd=ytd)
        except Exception as exc:  # NotComputable: the case's benefit cannot be computed
            _refuse(_cannot(exc))
        request["bill"] = {k: money_str(v) for k, v in stay.bill.items()}
        return request


# --------------------------------------------------------------------------- direct inpatient stays


class StaySettlement(_QuotedSettlement):
    """A direct inpatient stay: the hospital was paid the fund and the catastrophic supplement, the
    person the rest."""

    kind = source_kind = "inpatient_stay"
    benefit = "inpatient"

    def __init__(self, stay_id: int):
        from claims.settlement.models import InpatientStay

        r = self.record = (InpatientStay.objects.select_related("person__region", "person__school",
                                                                "institution__region").get(pk=stay_id))
        self.ref, self.person_id, self.person, self.institution = f"ip:{r.pk}", r.person_id, r.person, r.institution
        self.stay = C.Stay(ref=self.ref, admitted=r.admitted, discharged=r.discharged,
                           bill={"class_a": r.class_a, "class_b": r.class_b, "class_c": r.class_c},
                           lines=_lines_of("inpatient_stay", r.pk))
        self.fund_paid = r.fund + r.catastrophic
        self.person_paid = r.total - self.fund_paid

    @property
    def source_id(self) -> int:
        return self.record.pk

    def request(self, stay: C.Stay, ytd: dict) -> dict:
        """The corrected stay's request: its bill the lines left, each on its own class (a
        correction that knows only amounts takes a removed line off the classes in order)."""
        from claims.settlement.services.stays import bill_of_lines, stay_request

        if stay.lines and all(line.get("class") in ("A", "B", "C") for line in stay.lines):
            stay = replace(stay, bill=bill_of_lines(stay.lines))
        return stay_request(self.institution, admitted=stay.admitted, bill=stay.bill,
                            category=_category(self.person, stay.admitted), ytd=ytd)


# --------------------------------------------------------------------------- visits


class _VisitSettlement(_Settlement):
    model_name = ""

    def __init__(self, visit):
        self.visit = visit
        self.ref = f"{'pv' if self.kind == 'pool_visit' else 'cv'}:{visit.pk}"
        self.person_id, self.person, self.institution = visit.person_id, visit.person, visit.institution
        bill = {"class_a": visit.class_a, "class_b": visit.class_b, "class_c": visit.class_c}
        self.stay = C.Stay(ref=self.ref, admitted=visit.service_date, discharged=visit.service_date, bill=bill,
                           lines=_lines_of(self.kind, visit.pk))
        self.fund_paid = visit.fund
        self.person_paid = visit.total - visit.fund

    @property
    def source_id(self) -> int:
        return self.visit.pk


class PoolVisitSettlement(_VisitSettlement):
    """An outpatient-pool visit: the engine's outpatient_pool terms and split (as ingestion)."""

    kind = source_kind = "pool_visit"
    benefit = "outpatient_pool"

    def __init__(self, visit_id: int):
        from claims.settlement.models import Visit

        super().__init__(Visit.objects.select_related("institution__region", "person__region", "person__school")
                         .get(pk=visit_id))

    def reverse(self, *, acting_user, note: str) -> None:
        from claims.settlement.services.pool_corrections import pool_account_lock

        # the capitation account first: ingestion and the runs lock it before the ledger
        pool_account_lock(institution_id=self.visit.institution_id, year=self.visit.year)
        super().reverse(acting_user=acting_user, note=note)

    def requote(self, stay: C.Stay | None, *, acting_user, note: str) -> Requoted:
        """The re-quote, then the visit and its capitation account corrected (pool_corrections)."""
        from claims.settlement.services.pool_corrections import pool_visit_correct

        result = super().requote(stay, acting_user=acting_user, note=note)
        effect = pool_visit_correct(visit_id=self.visit.pk, fund=result.fund,
                                    deductible=Decimal(result.detail.get("deductible", "0.00")))
        difference = self.fund_paid - result.fund
        not_received = difference - effect.overpaid if difference > 0 else ZERO
        return result._replace(detail={**result.detail, "capitation": effect.as_dict()}, not_received=not_received)

    def _requote(self, stay: C.Stay, *, acting_user, note: str) -> Requoted:
        from claims.ledger import keys as ledger_keys
        from claims.ledger.selectors import accounts_of
        from medins.benefits.outpatient_pool import check_category, pool_split, pool_terms

        day = self.visit.service_date
        policy = _policy(self.institution.region.code, day)
        terms = _engine(lambda: pool_terms(policy, self.institution.level))
        _engine(lambda: check_category(terms, _category(self.person, day)))
        accounts = accounts_of(self.person_id, day.year, self.benefit, lock=True)
        ytd = ledger_keys.year_to_date(self.benefit, accounts)
        eligible = stay.bill.get("class_a", ZERO) + stay.bill.get("class_b", ZERO)
        split = pool_split(terms, eligible, ytd["fund_paid"], ytd["deductible_paid_amount"],
                           shared_fund_paid=ytd["shared_fund_paid"])
        self._post(acting_user=acting_user, day=day, accounts=accounts, note=note, figures=ledger_keys.entry_figures(
            self.benefit, fund=split.fund, deductible=split.deductible_paid, eligible=eligible))
        return Requoted(split.fund, stay.total - split.fund,
                        {"fund": str(split.fund), "deductible": str(split.deductible_paid), "eligible": str(eligible),
                         "policy_version": terms.version})


class CertifiedVisitSettlement(_VisitSettlement):
    """A certified outpatient visit: its benefit's engine terms and split (as certified ingestion)."""

    kind = source_kind = "certified_visit"

    def __init__(self, visit_id: int):
        from claims.settlement.models import CertifiedVisit

        super().__init__(CertifiedVisit.objects.select_related("institution__region", "person__region",
                                                               "person__school").get(pk=visit_id))
        self.benefit = self.visit.benefit

    def _facts(self, day: dt.date) -> tuple[tuple[str, ...], bool]:
        """(the chronic diseases certified on the day, 两病 insulin) as ingestion reads them."""
        from claims.certifications.models import Certification
        from claims.certifications.workflow import WAS_APPROVED

        diseases: tuple[str, ...] = ()
        if self.benefit == "chronic":
            diseases = tuple(sorted({code for code, a, b in Certification.objects.filter(
                person_id=self.person_id, kind="chronic", state__in=list(WAS_APPROVED)).values_list(
                "item__code", "valid_from", "valid_to") if (a is None or a <= day) and (b is None or day <= b)}))
        insulin = False
        if self.benefit == "two_diseases":
            since = (Certification.objects.filter(pk=self.visit.certification_id)
                     .values_list("insulin_since", flat=True).first())
            insulin = since is not None and since <= day
        return diseases, insulin

    def _requote(self, stay: C.Stay, *, acting_user, note: str) -> Requoted:
        from claims.ledger import keys as ledger_keys
        from claims.ledger.selectors import accounts_of
        from claims.settlement.services import engine_terms

        visit, day, benefit, item = self.visit, self.visit.service_date, self.benefit, self.visit.item_code
        policy = _policy(self.institution.region.code, day)
        diseases, insulin = self._facts(day)
        terms = _engine(lambda: engine_terms.terms(
            benefit, policy, level=visit.level, category=_category(self.person, day), item=item,
            certified_diseases=diseases, township=bool(getattr(self.institution, "township", False)),
            insulin_user=insulin, poverty_registered=visit.poverty_registered))  # as paid
        scope = engine_terms.fund_scope(benefit, terms)
        inpatient_cap = benefit == "chronic" and scope == "year"  # Jinan 门规 diseases sharing the inpatient cap
        accounts = accounts_of(self.person_id, day.year, benefit, item, lock=True, inpatient_cap=inpatient_cap)
        year, own = accounts.get(ledger_keys.YEAR, ledger_keys.EMPTY), accounts.get((benefit, ""), ledger_keys.EMPTY)
        per_item = accounts.get((benefit, item), ledger_keys.EMPTY)
        ytd = engine_terms.YearToDate()
        ytd.fund_paid = year.cap_fund if scope == "year" else per_item.fund if scope == "item" else own.fund
        ytd.disease_fund_paid = per_item.fund
        ytd.eligible_counted = own.eligible
        ytd.deductible_paid_amount = own.deductible
        if benefit == "chronic":
            ytd.shared_fund_paid = ledger_keys.shared_outpatient_fund(accounts)
        split = _engine(lambda: engine_terms.split(terms, stay.bill.get("class_a", ZERO), stay.bill.get("class_b", ZERO),
                                                   ytd))
        self._post(acting_user=acting_user, day=day, accounts=accounts, item=item, note=note,
                   figures=ledger_keys.entry_figures(benefit, fund=split.fund, deductible=split.deductible_paid,
                                                     eligible=split.eligible, inpatient_cap=inpatient_cap))
        return Requoted(split.fund, stay.total - split.fund,
                        {"fund": str(split.fund), "first_copay": str(split.first_copay), "eligible": str(split.eligible),
                         "deductible": str(split.deductible_paid), "policy_version": terms.version})


# --------------------------------------------------------------------------- care claims


class CareLineSettlement(_Settlement):
    """A resident's line of a monthly care claim: its payable days are the stay's lines (kind care)."""

    kind = "care_claim_line"
    source_kind = "care_claim"  # one entry per resident, under the claim's id
    benefit = "long_term_care"

    def __init__(self, line_id: int):
        from carecare.models import CareClaimLine

        from .facts import care_line_days

        self.line = (CareClaimLine.objects.select_related("claim__care_home__region", "person__region")
                     .get(pk=line_id))
        line = self.line
        self.ref, self.person_id, self.person = f"ltc:{line.pk}", line.person_id, line.person
        self.institution = line.claim.care_home
        days = care_line_days(line.days or [])
        first = days[0]["date"] if days else line.claim.month
        last = days[-1]["date"] if days else line.claim.month
        self.stay = C.Stay(ref=self.ref, admitted=first, discharged=last + ONE_DAY,
                           bill={"class_a": sum((d["amount"] for d in days), ZERO)}, lines=tuple(days))
        self.fund_paid, self.person_paid = line.fund, line.personal

    @property
    def source_id(self) -> int:
        return self.line.claim_id

    def reverse(self, *, acting_user, note: str) -> None:
        from claims.ledger.services import ledger_reverse

        ledger_reverse(acting_user=acting_user, source_kind=self.source_kind, source_id=self.source_id, note=note,
                       person_id=self.person_id)

    def requote(self, stay: C.Stay | None, *, acting_user, note: str) -> Requoted:
        # never None: refused days are borne by neither the fund nor the resident (claim_checks)
        return self._requote(stay or C.Stay(ref=self.ref, admitted=self.stay.admitted,
                                            discharged=self.stay.admitted), acting_user=acting_user, note=note)

    def _requote(self, stay: C.Stay, *, acting_user, note: str) -> Requoted:
        from carecare.claim_checks import ResidentIn, evaluate_line, residents_of_lines
        from carecare.selectors import claim_facts
        from claims.ledger import keys as ledger_keys
        from claims.ledger.selectors import accounts_of

        line, claim = self.line, self.line.claim
        kept = {x["date"] for x in stay.lines}
        [resident] = residents_of_lines([line])
        resident = ResidentIn(resident.id_number, [d for d in resident.days if d.date in kept])
        facts = claim_facts(id_numbers=[line.id_number], year=claim.month.year, month=claim.month.month)
        region = self.institution.region.code
        result = _engine(lambda: evaluate_line(resident, facts.get(line.id_number), home_id=claim.care_home_id,
                                               policy_for=lambda day: _policy(region, day)))
        accounts = accounts_of(self.person_id, claim.month.year, self.benefit, lock=True)
        self._post(acting_user=acting_user, day=result.first_paid or claim.month, accounts=accounts, note=note,
                   figures=ledger_keys.entry_figures(self.benefit, fund=result.fund, eligible=result.eligible))
        return Requoted(result.fund, result.personal,
                        {"fund": str(result.fund), "personal": str(result.personal), "days_paid": result.days_paid,
                         "groups": result.groups})


KINDS = {"case": CaseSettlement, "pool_visit": PoolVisitSettlement, "certified_visit": CertifiedVisitSettlement,
         "care_claim_line": CareLineSettlement, "inpatient_stay": StaySettlement}


def settlement_of(kind: str, object_id: int) -> _Settlement:
    """The settlement of a finding's (kind, id) as a recovery re-quotes it."""
    cls = KINDS.get(kind)
    if cls is None:
        _refuse(gettext('Settlement kind "%(kind)s" cannot be re-quoted; no recovery order was made.') % {"kind": kind})
    return cls(object_id)


def _source(kind: str, object_id: int, person_id: int | None) -> tuple[str, int, int | None] | None:
    """(ledger source kind, source id, person to filter on) of a settlement; None: a care line that is gone."""
    if kind == "care_claim_line":
        from carecare.models import CareClaimLine

        claim_id = CareClaimLine.objects.filter(pk=object_id).values_list("claim_id", flat=True).first()
        return None if claim_id is None else (CareLineSettlement.source_kind, claim_id, person_id)
    if kind not in KINDS:
        _refuse(gettext('Settlement kind "%(kind)s" cannot be reversed; no recovery order was made.') % {"kind": kind})
    return KINDS[kind].source_kind, object_id, None


def fund_standing(*, kind: str, object_id: int, person_id: int | None) -> Decimal | None:
    """What the fund stands to have paid for a settlement after any earlier recovery of it: the
    fund (and catastrophic) of its live ledger entries — an earlier correction reversed the paid
    entry and posted the corrected one, and ordered the difference back. None when the settlement
    never had a ledger entry (nothing is known beyond its record)."""
    from claims.ledger.models import LedgerEntry

    source = _source(kind, object_id, person_id)
    if source is None:
        return None
    source_kind, source_id, person = source
    entries = LedgerEntry.objects.filter(source_kind=source_kind, source_id=source_id)
    if person is not None:
        entries = entries.filter(person_id=person)
    if not entries.exists():
        return None
    live = entries.filter(reverses__isnull=True, reversed_by__isnull=True).values_list("fund", "catastrophic")
    return sum((fund + catastrophic for fund, catastrophic in live), ZERO)


def reverse_settlement(*, acting_user, kind: str, object_id: int, person_id: int | None, note: str) -> int:
    """Reverse a settlement's live ledger entries without re-quoting it (a settlement dropped
    entirely); returns how many entries were reversed."""
    from claims.ledger.services import ledger_reverse

    source = _source(kind, object_id, person_id)
    if source is None:
        return 0
    source_kind, source_id, person = source
    return ledger_reverse(acting_user=acting_user, source_kind=source_kind, source_id=source_id, note=note,
                          person_id=person)
