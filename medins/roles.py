"""The permission matrix: roles × actions, declared once; the Django groups are built from it.

`ACTIONS` names what a person can do (view, create, edit which fields, approve, release, import
bank results, manage operators, run jobs, reveal personal data …); each action is the set of
permission patterns it needs (`app_label.codename`, shell-style `*` in the codename, e.g.
`medins.view_*` or `claims.*_schooloperator`). `MATRIX` gives each role its actions, and
`roles_sync()` builds one group per role with exactly the permissions of its actions, minus
`ADMINISTRATOR_ONLY` (which no group ever gets: only a superuser has them).

`ADMIN_VIEWS`, `ADMIN_ACTIONS` and `ENDPOINTS` say which permission each custom admin page, each
admin bulk action and each API / portal endpoint needs. The views check those permissions, and
tests/medins/test_permission_matrix.py walks every admin URL and API endpoint as every role and
fails on any difference from this table. A new admin page, action or endpoint must be declared
here (the walk fails on an undeclared one).

`EDITABLE_FIELDS` is the "edit which fields" column for the money-bearing case: the fields of a
reimbursement case a role may edit on the admin page (on top of the workflow's own rules of
what may change in which state).

Patterns for models that do not exist yet simply match nothing, so later apps extend this one
table rather than adding a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

OUR_APPS = ("medins", "enrollment", "claims", "ledger", "settlement", "certifications", "carecare", "supervision")
# Full ID numbers and bank accounts: only the roles that verify identity or pay money.
REVEAL = "enrollment.reveal_personal_data"
APPROVE_CASE = "claims.approve_case"
IMPORT_BANK_RESULT = "claims.import_bank_result"
RUN_PAYMENT_JOB = "claims.run_payment_job"
RELEASE_STATEMENT = "settlement.release_institutionsettlement"
RELEASE_FEE_STATEMENT = "settlement.release_feestatement"
START_RUN = "settlement.start_settlementrun"
REOPEN_YEAR = "settlement.reopen_settlement_year"
IMPORT_INSTITUTIONS = ("medins.add_institution", "medins.change_institution", "medins.add_institutionimport")
APPROVE_CERTIFICATION = "certifications.approve_certification"
REVOKE_CERTIFICATION = "certifications.revoke_certification"
CONFIRM_FINDING = "supervision.confirm_finding"
RECORD_REPAYMENT = "supervision.record_repayment"
APPROVE_WRITE_OFF = "supervision.approve_write_off"

# Only the administrator (a superuser): operator accounts link a user to a tenant (a school, an
# institution) and so decide what that user reads; scheduled jobs include the nightly payment
# job; users, groups and API tokens decide everything else. No role group ever holds these.
ADMINISTRATOR_ONLY = (
    "claims.*_schooloperator",
    "settlement.*_institutionoperator",
    "django_celery_beat.*",
    "django_celery_results.*",
    "auth.*",
    "authtoken.*",
    "axes.*",  # sign-in attempts and lockouts (login throttling)
    # the list of every background job; a job's own progress and result pages are its starter's
    # and those who may see what it works on (medins.jobs.job_visible; ADMIN_VIEWS below)
    "medins.*_job",
)


@dataclass(frozen=True)
class Action:
    label: str
    patterns: tuple[str, ...]


ACTIONS: dict[str, Action] = {
    # reading
    "view_reference": Action(_("View reference data and policy"), ("medins.view_*",)),
    "view_enrollment": Action(_("View insured persons, payments and cover"), ("enrollment.view_*",)),
    "view_cases": Action(_("View reimbursement cases, batches and payments"), ("claims.view_*",)),
    "view_settlement": Action(_("View settlement runs, statements and visits"), ("settlement.view_*",)),
    "view_ledger": Action(_("View the yearly ledger"), ("ledger.view_*",)),
    "view_care": Action(_("View long-term care"), ("carecare.view_*",)),
    "reveal_personal_data": Action(_("Reveal full ID numbers and bank accounts"), (REVEAL,)),
    # creating and editing
    "edit_policy": Action(_("Create and edit reference data, policy and case types"), (
        "medins.add_*", "medins.change_*", "claims.add_casetype", "claims.change_casetype", "claims.add_casetypematerial",
        "claims.change_casetypematerial", "claims.delete_casetypematerial")),
    "import_institutions": Action(_("Import designated institutions from a file (check, then confirm)"), (
        *IMPORT_INSTITUTIONS, "medins.view_institutionimport")),
    "register_enrollment": Action(_("Register persons, payments and stops"), ("enrollment.add_*",)),
    "edit_enrollment": Action(_("Edit persons and refund stops"), ("enrollment.change_*",)),
    "receive_cases": Action(_("Receive reimbursement cases"), (
        "claims.add_case", "claims.add_invoice", "claims.add_casematerial", "claims.add_attachment",
        "claims.add_materialsnotice", "claims.add_casetransition")),
    "edit_cases": Action(_("Work on cases (edit the fields the role may edit, move them through the workflow)"), (
        "claims.change_case", "claims.change_invoice", "claims.change_casematerial", "claims.change_attachment",
        "claims.change_materialsnotice", "claims.change_casetransition", "claims.change_batch")),
    "edit_payments": Action(_("Edit payment orders"), ("claims.change_paymentorder", "claims.change_paymentfile")),
    "edit_care": Action(_("Edit long-term care"), ("carecare.change_*",)),
    "register_care": Action(_("Request care assessments and record care-home stays"), ("carecare.add_*", "carecare.change_carestay",
                                                                                      "carecare.change_stayabsence")),
    "assess_care": Action(_("Record long-term care assessments (assessor)"), (
        "carecare.assess_assessment", "carecare.view_assessment", "carecare.view_assessmenttransition")),
    "approve_care": Action(_("Approve long-term care assessments and monthly care claims"), (
        "carecare.approve_assessment", "carecare.approve_careclaim")),
    # a care home's operator: requests assessments and records its residents' stays (own home only)
    "care_home": Action(_("Request assessments, record stays and send monthly claims for the own care home"), (
        "carecare.add_assessment", "carecare.view_assessment", "carecare.view_assessmenttransition",
        "carecare.add_carestay", "carecare.change_carestay", "carecare.view_carestay", "carecare.add_stayabsence",
        "carecare.change_stayabsence", "carecare.view_stayabsence",
        # monthly claims of its own home (API and the admin's upload with preview)
        "carecare.add_careclaim", "carecare.view_careclaim", "carecare.view_careclaimline",
        "carecare.view_careclaimtransition", "carecare.add_careclaimupload", "carecare.view_careclaimupload")),
    # money
    "approve_cases": Action(_("Approve reimbursement cases"), (APPROVE_CASE,)),
    "import_bank_results": Action(_("Import the bank's payment result file"), (IMPORT_BANK_RESULT,)),
    "run_payment_job": Action(_("Run the payment-order job (the bank payment file)"), (RUN_PAYMENT_JOB,)),
    "start_runs": Action(_("Start and resume settlement runs"), (START_RUN,)),
    "release_statements": Action(_("Release capitation and fee-for-service statements for payment"), (
        RELEASE_STATEMENT, RELEASE_FEE_STATEMENT)),
    "reopen_years": Action(_("Request and approve the reopening of a closed settlement year"), (
        REOPEN_YEAR, "settlement.add_yearreopening")),
    # outpatient-pool data from institutions (API and admin upload page)
    "pool_uploads": Action(_("Send visits and sign-up lists"), (
        "settlement.add_visit", "settlement.view_visit", "settlement.add_poolmembership", "settlement.view_poolmembership",
        "settlement.add_poolupload", "settlement.view_poolupload")),
    # certifications, approvals and registrations (DOMAIN.md §5; who decides which kind: claims/certifications/kinds.py)
    "view_certifications": Action(_("View certifications, approvals and registrations"), ("certifications.view_*",)),
    # an institution operator: its own institution's applications and renewal list (the admin filters them)
    "view_own_certifications": Action(_("View its own institution's certifications and renewal list"), tuple(
        f"certifications.view_{m}" for m in ("certification", "certificationdocument", "certificationattachment",
                                              "certificationnotice", "certificationsite", "certificationtransition",
                                              "certificationrenewal"))),
    "apply_certifications": Action(_("Submit certification applications and their documents"), (
        "certifications.add_certification", "certifications.add_certificationattachment",
        "certifications.add_certificationdocument", "certifications.add_certificationnotice",
        "certifications.add_certificationtransition")),
    "work_certifications": Action(_("Work on certification applications (documents, notices, review, reject)"), (
        "certifications.change_certification", "certifications.change_certificationdocument")),
    "approve_certifications": Action(_("Approve certifications"), (APPROVE_CERTIFICATION,)),
    "revoke_certifications": Action(_("Revoke and expire certifications (audit)"), (REVOKE_CERTIFICATION,)),
    # an institution reads back its own fee-for-service statements and certified visits (object-level)
    "own_statements": Action(_("Read the institution's own fee-for-service statements and certified visits"), (
        "settlement.view_feestatement", "settlement.view_certifiedvisit", "settlement.view_inpatientstay")),
    # fund supervision (claims/supervision, DOMAIN.md §9)
    "view_supervision": Action(_("View fund-security findings, the grey list and the nightly checks"), ("supervision.view_*",)),
    "supervise": Action(_("Dismiss and confirm fund-security findings (a second person approves), keep the grey list"), (
        CONFIRM_FINDING, "supervision.change_finding", "supervision.add_findingtransition", "supervision.add_greylistentry",
        "supervision.change_greylistentry", "supervision.add_recoveryorder", "supervision.change_recoveryorder")),
    # recovery orders (追回, DOMAIN.md §9): finance records repayments, an approver writes off
    "settle_recoveries": Action(_("Record the repayment of recovery orders"), (
        RECORD_REPAYMENT, "supervision.view_recoveryorder", "supervision.view_recoveryoffset")),
    "write_off_recoveries": Action(_("Approve the write-off of recovery orders"), (
        APPROVE_WRITE_OFF, "supervision.view_recoveryorder", "supervision.view_recoveryoffset")),
    # the administrator's alone (superuser; listed so the table names them)
    "manage_operators": Action(_("Link users to schools and institutions (operator accounts)"), (
        "claims.*_schooloperator", "settlement.*_institutionoperator")),
    "run_jobs": Action(_("Run, edit and delete scheduled jobs"), ("django_celery_beat.*", "django_celery_results.*")),
}

READ = ("view_reference", "view_enrollment", "view_cases")

# The matrix. A superuser (the administrator) may do everything, including ADMINISTRATOR_ONLY.
MATRIX: dict[str, tuple[str, ...]] = {
    "intake_clerk": (*READ, "reveal_personal_data", "register_enrollment", "edit_enrollment", "receive_cases",
                     "edit_cases", "pool_uploads", "view_care", "register_care", "view_certifications",
                     "apply_certifications", "work_certifications"),
    "reviewer": (*READ, "view_ledger", "reveal_personal_data", "edit_cases", "view_care", "edit_care", "view_settlement",
                 "start_runs", "view_certifications", "apply_certifications", "work_certifications", "revoke_certifications"),
    "approver": (*READ, "view_ledger", "reveal_personal_data", "edit_cases", "approve_cases", "view_care", "edit_care",
                 "approve_care", "view_certifications", "work_certifications", "approve_certifications",
                 "revoke_certifications", "write_off_recoveries"),
    # Records the ten items of an assessment (initial or on-site); decides nothing else.
    "assessor": ("view_enrollment", "assess_care"),
    "finance": (*READ, "view_ledger", "reveal_personal_data", "edit_enrollment", "edit_cases", "edit_payments",
                "import_bank_results", "run_payment_job", "view_care", "view_settlement", "release_statements", "start_runs",
                "reopen_years", "settle_recoveries"),
    "policy_admin": ("view_reference", "edit_policy", "import_institutions", "view_settlement"),
    # Reads everything; acts only on fund-security findings and the grey list (claims/supervision).
    "supervisor": ("view_reference", "view_enrollment", "view_cases", "view_ledger", "view_settlement", "view_care",
                   "view_certifications", "view_supervision", "supervise"),
    # School operators use the portal and the school API only: tenant checks, no permission.
    "school_operator": (),
    # Signs in to the admin for its own institution only (object-level checks in the settlement,
    # certifications and carecare apps); decides certifications only where kinds.py lets the hospital decide.
    "institution_operator": ("pool_uploads", "own_statements", "view_own_certifications", "apply_certifications",
                             "work_certifications", "approve_certifications", "care_home"),
}

# "Edit which fields": the fields of a reimbursement case each role may change on its page.
# Decision (the issue is silent): the intake clerk corrects every detail it typed in; the
# reviewer corrects the details checked against the materials but not the payee; finance
# corrects only the payee's account (a failed payment); the approver edits nothing it approves.
CASE_DETAIL_FIELDS = ("service_to", "institution_name", "institution_level", "delivery", "third_party_paid",
                      "lost_invoice_promise", "note")
EDITABLE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "intake_clerk": {"claims.Case": (*CASE_DETAIL_FIELDS, "bank_account")},
    "reviewer": {"claims.Case": CASE_DETAIL_FIELDS},
    "approver": {"claims.Case": ()},
    "finance": {"claims.Case": ("bank_account", "note")},
}

# Custom admin pages (URL name → permissions needed, all of them; "superuser" = the administrator).
ADMIN_VIEWS: dict[str, tuple[str, ...]] = {
    "admin:auth_user_password_change": ("auth.change_user",),
    # the institution import (upload → check → confirm; medins.services.institution_import)
    "admin:medins_institutionimport_upload": IMPORT_INSTITUTIONS,
    "admin:medins_institutionimport_confirm": IMPORT_INSTITUTIONS,
    "admin:medins_institutionimport_sample": IMPORT_INSTITUTIONS,
    "admin:medins_institution_export": ("medins.view_institution",),
    # a past version shows the full ID number and bank account (PersonAdmin.history_form_view)
    "admin:enrollment_person_simple_history": ("enrollment.view_person|enrollment.change_person", REVEAL),
    "admin:claims_case_notice": ("claims.view_case",),
    "admin:claims_case_attachment": ("claims.view_case",),
    "admin:claims_paymentfile_import": (IMPORT_BANK_RESULT,),
    "admin:claims_paymentfile_download": ("claims.view_paymentfile|claims.change_paymentfile",),
    # the payment-order job's confirmation page, then its progress and result pages (issue #14 item 2)
    "admin:claims_paymentorder_run": (RUN_PAYMENT_JOB,),
    # a job's pages: its starter, or who holds its kind's view permission (medins.jobs.job_visible);
    # the walk's job is a payment-order job, seen with claims.view_paymentfile, re-run with RUN_PAYMENT_JOB
    "admin:medins_job_progress": ("claims.view_paymentfile",),
    "admin:medins_job_status": ("claims.view_paymentfile",),
    "admin:medins_job_result": ("claims.view_paymentfile",),
    "admin:medins_job_rerun": ("claims.view_paymentfile", RUN_PAYMENT_JOB),
    "admin:certifications_certification_notice": ("certifications.view_certification",),
    "admin:certifications_certification_attachment": ("certifications.view_certification",),
    "admin:enrollment_payment_import": ("enrollment.add_payment",),
    "admin:enrollment_payment_import_confirm": ("enrollment.add_payment",),
    "admin:settlement_settlementrun_start": (START_RUN,),
    "admin:settlement_institutionsettlement_print": ("settlement.view_institutionsettlement",),
    "admin:settlement_feestatement_print": ("settlement.view_feestatement",),
    "admin:settlement_poolupload_upload": ("settlement.add_visit|settlement.add_poolmembership",),
    # the walk's upload is a visits file; a sign-up list needs settlement.add_poolmembership instead
    "admin:settlement_poolupload_confirm": ("settlement.view_poolupload", "settlement.add_visit"),
    # each step checks its own permission too (assess / change / approve): carecare.admin._ACTIONS
    "admin:carecare_assessment_act": ("carecare.view_assessment",),
    "admin:carecare_assessment_notice": ("carecare.view_assessment",),
    "admin:carecare_carestay_act": ("carecare.change_carestay",),
    # each step checks its own permission too (check / approve): carecare.admin_claims.CLAIM_ACTIONS
    "admin:carecare_careclaim_act": ("carecare.view_careclaim",),
    "admin:carecare_careclaimupload_upload": ("carecare.add_careclaim",),
    "admin:carecare_careclaimupload_confirm": ("carecare.view_careclaimupload", "carecare.add_careclaim"),
    # the finding page's steps (dismiss, confirm, second confirmation, send back): claims.supervision.admin
    "admin:supervision_finding_act": (CONFIRM_FINDING,),
    # a confirmed finding's recovery order (re-quoted): claims.supervision.recovery
    "admin:supervision_finding_recover": ("supervision.add_recoveryorder",),
    # each step checks its own permission too (repayment / write-off request / approval / fine reference)
    "admin:supervision_recoveryorder_act": ("supervision.view_recoveryorder",),
    "admin:supervision_recoveryorder_report": ("supervision.view_finding",),
}
# The case page's transition buttons (the change form posted with _workflow_step=<name>): extra permissions.
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "approve": (APPROVE_CASE,),
    "reorder": ("claims.change_paymentorder",),
}
# The certification page's transition buttons (its change form, as the case's): extra permissions.
CERTIFICATION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "approve": (APPROVE_CERTIFICATION,),
    "revoke": (REVOKE_CERTIFICATION,),
    "expire": (REVOKE_CERTIFICATION,),
}
# Admin bulk actions (model label, action name) → permissions needed.
ADMIN_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("claims.Case", "action_start_review"): ("claims.change_case",),
    ("claims.Case", "action_calculate"): ("claims.change_case",),
    ("claims.Case", "action_approve"): ("claims.change_case", APPROVE_CASE),
    ("claims.Case", "action_request_materials"): ("claims.change_case",),
    ("certifications.Certification", "action_start_review"): ("certifications.change_certification",),
    ("certifications.Certification", "action_approve"): ("certifications.change_certification", APPROVE_CERTIFICATION),
    ("enrollment.Person", "stop_cover"): ("enrollment.add_stop",),
    ("enrollment.Stop", "refund"): ("enrollment.change_stop",),
    ("settlement.SettlementRun", "resume_runs"): (START_RUN,),
    ("settlement.InstitutionSettlement", "release"): (RELEASE_STATEMENT,),
    ("settlement.InstitutionSettlement", "export_csv"): ("settlement.view_institutionsettlement",),
    ("settlement.InstitutionSettlement", "export_xlsx"): ("settlement.view_institutionsettlement",),
    ("settlement.FeeStatement", "release"): (RELEASE_FEE_STATEMENT,),
    ("settlement.FeeStatement", "export_csv"): ("settlement.view_feestatement",),
    ("settlement.FeeStatement", "export_xlsx"): ("settlement.view_feestatement",),
    ("settlement.YearReopening", "approve"): (REOPEN_YEAR,),
    ("settlement.YearReopening", "refuse"): (REOPEN_YEAR,),
    ("axes.AccessAttempt", "cleanup_expired_attempts"): ("axes.delete_accessattempt",),  # the administrator's
    # scheduled jobs: the administrator's alone (no role holds django_celery_beat.*)
    ("django_celery_beat.PeriodicTask", "enable_tasks"): ("django_celery_beat.change_periodictask",),
    ("django_celery_beat.PeriodicTask", "disable_tasks"): ("django_celery_beat.change_periodictask",),
    ("django_celery_beat.PeriodicTask", "toggle_tasks"): ("django_celery_beat.change_periodictask",),
    ("django_celery_beat.PeriodicTask", "run_tasks"): ("django_celery_beat.change_periodictask",),
}
# API and portal endpoints: URL name → {method: who}. "tenant:school": a school operator account
# (its own school's records only); "tenant:institution": an agency user with the permissions, or
# the operator of that very institution; "tenant:institution_operator": an institution operator
# account only (its own institution's records; agency users work in the admin); "authenticated":
# anyone signed in; "public": anyone at all (signing in and out); other entries are permissions,
# all needed.
_SCHOOL = {"GET": ("tenant:school",)}
ENDPOINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "v1:quote": {"POST": ("authenticated",)},
    "v1:enrollment-preview": {"POST": ("authenticated",)},
    "v1:person-list": {"GET": ("enrollment.view_person",)},
    "v1:person-detail": {"GET": ("enrollment.view_person",)},
    "v1:person-coverage": {"GET": ("enrollment.view_person",)},
    "v1:payment-create": {"POST": ("enrollment.add_payment",)},
    "v1:school-batch-list": {"GET": ("tenant:school",), "POST": ("tenant:school",)},
    "v1:school-batch-detail": _SCHOOL,
    "v1:school-case-list": _SCHOOL,
    "v1:school-case-detail": _SCHOOL,
    "v1:school-notice-list": _SCHOOL,
    "v1:settlement-visits": {"GET": ("tenant:institution", "settlement.view_visit"),
                             "POST": ("tenant:institution", "settlement.add_visit")},
    "v1:settlement-signups": {"GET": ("tenant:institution", "settlement.view_poolmembership"),
                              "POST": ("tenant:institution", "settlement.add_poolmembership")},
    "v1:settlement-visits-file": {"POST": ("tenant:institution", "settlement.add_visit")},
    # direct inpatient stays come in under the visit permissions (the same operator, the same way in)
    "v1:settlement-stays": {"GET": ("tenant:institution", "settlement.view_visit"),
                            "POST": ("tenant:institution", "settlement.add_visit")},
    "v1:settlement-stays-file": {"POST": ("tenant:institution", "settlement.add_visit")},
    "v1:settlement-signups-file": {"POST": ("tenant:institution", "settlement.add_poolmembership")},
    "v1:settlement-statements": {"GET": ("settlement.view_institutionsettlement",)},
    "v1:certification-list": {"GET": ("tenant:institution_operator", "certifications.view_certification"),
                              "POST": ("tenant:institution_operator", "certifications.add_certification")},
    "v1:certification-detail": {"GET": ("tenant:institution_operator", "certifications.view_certification")},
    "v1:certification-attachments": {"POST": ("tenant:institution_operator", "certifications.add_certificationattachment")},
    "v1:certification-resubmit": {"POST": ("tenant:institution_operator", "certifications.change_certification")},
    # approving also needs certifications.approve_certification, checked by the service with kinds.py
    "v1:certification-decision": {"POST": ("tenant:institution_operator", "certifications.change_certification")},
    "v1:school-certification-list": {"GET": ("tenant:school",), "POST": ("tenant:school",)},
    "v1:school-certification-detail": _SCHOOL,
    "v1:school-certification-attachments": {"POST": ("tenant:school",)},
    "v1:school-certification-resubmit": {"POST": ("tenant:school",)},
    # a care home's operator requests for, and sees, its own home only (object-level, carecare.selectors)
    "v1:care-assessments": {"GET": ("carecare.view_assessment",), "POST": ("carecare.add_assessment",)},
    "v1:care-assessment-detail": {"GET": ("carecare.view_assessment",)},
    "v1:care-claims": {"GET": ("carecare.view_careclaim",), "POST": ("carecare.add_careclaim",)},
    "v1:care-claim-detail": {"GET": ("carecare.view_careclaim",)},
    "portal:login": {"GET": ("public",)},
    "portal:logout": {"POST": ("public",)},
    "portal:home": _SCHOOL,
    "portal:upload": {"GET": ("tenant:school",), "POST": ("tenant:school",)},
    "portal:sample": _SCHOOL,
    "portal:batch": _SCHOOL,
    "portal:case": _SCHOOL,
    "portal:case-materials": {"GET": ("tenant:school",), "POST": ("tenant:school",)},
    "portal:attachment": _SCHOOL,
    "portal:notice": _SCHOOL,
    "portal:certification": _SCHOOL,
    "portal:certification-attachment": _SCHOOL,
}


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    staff: bool  # may sign in to the agency admin

    @property
    def actions(self) -> tuple[str, ...]:
        return MATRIX[self.code]

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permission patterns of the role's actions (ADMINISTRATOR_ONLY removed by role_permissions)."""
        return tuple(p for action in self.actions for p in ACTIONS[action].patterns)


ROLES: tuple[Role, ...] = (
    Role("intake_clerk", _("Intake clerk"), True),
    Role("reviewer", _("Reviewer"), True),
    Role("approver", _("Approver"), True),
    Role("finance", _("Finance"), True),
    Role("policy_admin", _("Policy administrator"), True),
    Role("supervisor", _("Supervisor (fund security)"), True),
    Role("school_operator", _("School operator"), False),
    Role("institution_operator", _("Institution operator"), True),
    Role("assessor", _("Care assessor"), True),
)

ROLE_BY_CODE = {role.code: role for role in ROLES}


def _matches(pattern: str, app_label: str, codename: str) -> bool:
    label, _dot, code = pattern.partition(".")
    return label == app_label and fnmatchcase(codename, code)


def role_permissions(role: Role, perms: list[Permission] | None = None) -> set[str]:
    """The role's permissions as "app_label.codename", from the matrix (not from the database groups)."""
    perms = perms if perms is not None else list(Permission.objects.select_related("content_type"))
    out = set()
    for p in perms:
        app_label = p.content_type.app_label
        if any(_matches(pattern, app_label, p.codename) for pattern in role.permissions) and not any(
                _matches(pattern, app_label, p.codename) for pattern in ADMINISTRATOR_ONLY):
            out.add(f"{app_label}.{p.codename}")
    return out


def editable_fields(user, model_label: str) -> tuple[str, ...] | None:
    """The fields of `model_label` the user's roles may edit; None = not restricted by role
    (a superuser, or an account given permissions directly rather than through a role)."""
    if user.is_superuser:
        return None
    codes = [name for name in user.groups.values_list("name", flat=True) if name in EDITABLE_FIELDS or name in MATRIX]
    if not codes:
        return None
    return tuple(sorted({f for code in codes for f in EDITABLE_FIELDS.get(code, {}).get(model_label, ())}))


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create or update every role group with exactly the permissions its actions give."""
    perms = list(Permission.objects.select_related("content_type"))
    by_code = {f"{p.content_type.app_label}.{p.codename}": p.pk for p in perms}
    counts = {}
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role.code)
        wanted = {by_code[code] for code in role_permissions(role, perms)}
        group.permissions.set(wanted)
        counts[role.code] = len(wanted)
    return counts
