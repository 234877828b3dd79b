"""What differs between the four kinds of certification (DOMAIN.md §5), as data.

One lifecycle (workflow.py) serves chronic-disease certifications, special-disease
certifications, special-drug approvals and 两病 registrations; this module says, per kind and
region, which documents an application needs, which catalogue the disease or drug comes from,
which designation and level the applying institution and the institution of use need, who may
decide, whether four eyes apply, how long an approval is valid and which places of use
(CertificationSite roles) an approval creates.

Decisions where DOMAIN.md and the seeds are silent (research/outpatient-care-security.md §1.4,
§2.4, §3.4):

- Documents. The seeds name documents only for the Jinan 门规 file (JC-1: the disease's medical
  records and examination/laboratory reports of a secondary-or-higher designated institution),
  the special-drug assessment form (JD-5/JD-6: 特药申请评估表, prescription, medical-record copy)
  and 两病 (LB-3: a level-1+ institution's diagnosis certificate *or* an inpatient record — one
  document). Changchun chronic and special-disease applications get the same set as the research
  notes propose (ID, application form, medical records, the examination results proving the
  criteria).
- Who decides. The hospital decides where DOMAIN.md §5 says it does (exam hospital, certifying
  hospital, special-drug hospital, registering primary institution); agency clerks may also
  decide every kind (recording a paper certificate, a hospital without an account) and alone
  decide the Jinan 门规 file, with four eyes (the reviewer who starts the review never confirms).
  The agency audits and revokes every kind; hospitals never revoke.
- Validity is policy, not this module: medins.benefits.certification.valid_to reads the
  certification.* parameters (open-ended kinds — chronic, special disease, 门规, 两病 — valid
  while insured; the episodic special diseases, catalogue attribute ``episodic``, for
  ``certification.validity_days_episodic`` days from the approval date inclusive; special drugs
  to 31 December of the approval year).
- Places of use. Changchun chronic and Jinan 门规: the treatment institution chosen at filing
  (role ``treatment``, changed with certification_change_institution, effective the next day);
  special disease: the certifying hospital (``certifying``); special drug: the approving hospital
  (``approving``) and, when chosen, one designated pharmacy (``dispensing``); 两病: the
  registering primary institution (``registering``).
- Jinan 门规 treatment institutions: the seed names none; the institution chosen must hold the
  ``chronic_treatment`` designation, as in Changchun.
"""

from __future__ import annotations

from dataclasses import dataclass

from medins.models import CatalogueKind, InstitutionLevel

from .models import CertificationKind, SiteRole

K = CertificationKind
L = InstitutionLevel

# Levels from the highest down (DOMAIN.md §2). Pharmacies and care homes are ungraded.
LEVEL_ORDER = (L.PROVINCIAL_TERTIARY, L.MUNICIPAL_TERTIARY, L.SECONDARY, L.PRIMARY, L.VILLAGE)
SECONDARY_AND_ABOVE = LEVEL_ORDER[:3]
BELOW_SECONDARY = LEVEL_ORDER[3:]

CHANGCHUN, JINAN = "220100", "370100"


@dataclass(frozen=True)
class Document:
    code: str
    name: str


@dataclass(frozen=True)
class InstitutionRule:
    """What an institution must be for a role in the application."""

    designation: str | None = None  # a designation code (medins/reference/designations.yaml)
    levels: tuple[str, ...] | None = None  # admitted levels; None: any
    label: str = ""  # how the refusal names it (Chinese, data)


@dataclass(frozen=True)
class KindRule:
    kind: str
    region: str
    catalogue: str  # CatalogueKind of the disease or drug
    documents: tuple[Document, ...]
    applicant: InstitutionRule | None  # the applying hospital; None: no institution applies (school / agency window)
    applicant_required: bool
    use: InstitutionRule  # the institution of use (Certification.institution)
    use_role: str  # SiteRole of the institution of use
    use_is_applicant: bool  # the benefit is used where it was certified (special disease, special drug, 两病)
    hospital_decides: bool
    agency_decides: bool = True
    four_eyes: bool = False  # the approver is never the clerk who started the review
    school_forwards: bool = False  # Jinan college students: the school forwards the file (DOMAIN §5)
    supersedes_on_approval: bool = False  # a new approval ends the one in force the day before (move/renewal)
    institution_changeable: bool = False  # chronic: a new treatment institution from the next day
    ends_two_diseases: bool = False  # a 门规 certification ends the same disease's 两病 registration
    excluded_by_kind: str | None = None  # 两病: not while a 门规 certification of the disease is in force
    item_codes: tuple[str, ...] | None = None  # the only items admitted (两病: hypertension, diabetes)
    dispensing: InstitutionRule | None = None  # special drug: an optional designated pharmacy

    @property
    def document_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.documents)


ID_CARD = Document("id_card", "身份证或社会保障卡（复印件）")

_CHRONIC_CC = KindRule(
    kind=K.CHRONIC, region=CHANGCHUN, catalogue=CatalogueKind.CHRONIC_DISEASE,
    documents=(ID_CARD, Document("application_form", "门诊慢性病认定申请表"),
               Document("medical_records", "既往病历（与申请病种相关）"),
               Document("exam_results", "定点体检机构的体检认定检查结果")),
    applicant=InstitutionRule("chronic_exam", None, "门诊慢性病体检认定机构"), applicant_required=True,
    use=InstitutionRule("chronic_treatment", None, "门诊慢性病定点治疗机构"), use_role=SiteRole.TREATMENT,
    use_is_applicant=False, hospital_decides=True, institution_changeable=True,
)
_CHRONIC_JN = KindRule(
    kind=K.CHRONIC, region=JINAN, catalogue=CatalogueKind.CHRONIC_DISEASE,
    documents=(Document("medical_records", "申请病种的相关病历（原件）"),
               Document("secondary_test_reports", "二级及以上定点医疗机构检查化验报告（原件）")),
    applicant=None, applicant_required=False,
    use=InstitutionRule("chronic_treatment", None, "门诊慢性病（门规）定点治疗机构"), use_role=SiteRole.TREATMENT,
    use_is_applicant=False, hospital_decides=False, four_eyes=True, school_forwards=True,
    institution_changeable=True, ends_two_diseases=True,
)
_SPECIAL_DISEASE = KindRule(
    kind=K.SPECIAL_DISEASE, region=CHANGCHUN, catalogue=CatalogueKind.SPECIAL_DISEASE,
    documents=(ID_CARD, Document("application_form", "门诊特殊疾病申请表"),
               Document("diagnosis", "诊断证明及相关病历"), Document("test_reports", "检查化验报告")),
    applicant=InstitutionRule("special_disease", SECONDARY_AND_ABOVE, "二级及以上门诊特殊疾病办理机构"),
    applicant_required=True,
    use=InstitutionRule("special_disease", SECONDARY_AND_ABOVE, "二级及以上门诊特殊疾病办理机构"),
    use_role=SiteRole.CERTIFYING, use_is_applicant=True, hospital_decides=True,
    supersedes_on_approval=True,
)


def _special_drug(region: str) -> KindRule:
    return KindRule(
        kind=K.SPECIAL_DRUG, region=region, catalogue=CatalogueKind.SPECIAL_DRUG,
        documents=(Document("assessment_form", "特药申请评估表"), Document("prescription", "处方"),
                   Document("medical_record_copy", "病历复印件"), ID_CARD),
        applicant=InstitutionRule("special_drug_hospital", None, "特药定点医院"), applicant_required=True,
        use=InstitutionRule("special_drug_hospital", None, "特药定点医院"), use_role=SiteRole.APPROVING,
        use_is_applicant=True, hospital_decides=True, supersedes_on_approval=True,
        dispensing=InstitutionRule("special_drug_pharmacy", None, "特药定点药店"),
    )


_TWO_DISEASES = KindRule(
    kind=K.TWO_DISEASES, region=JINAN, catalogue=CatalogueKind.CHRONIC_DISEASE,
    documents=(Document("diagnosis_or_inpatient_record", "一级及以上医疗机构的诊断证明或住院病历"),),
    applicant=InstitutionRule("two_diseases", BELOW_SECONDARY, "二级以下门诊“两病”定点医疗机构"), applicant_required=False,
    use=InstitutionRule("two_diseases", BELOW_SECONDARY, "二级以下门诊“两病”定点医疗机构"), use_role=SiteRole.REGISTERING,
    use_is_applicant=True, hospital_decides=True, excluded_by_kind=K.CHRONIC,
    item_codes=("hypertension", "diabetes"),
)

RULES: dict[tuple[str, str], KindRule] = {
    (CHANGCHUN, K.CHRONIC): _CHRONIC_CC,
    (JINAN, K.CHRONIC): _CHRONIC_JN,
    (CHANGCHUN, K.SPECIAL_DISEASE): _SPECIAL_DISEASE,
    (CHANGCHUN, K.SPECIAL_DRUG): _special_drug(CHANGCHUN),
    (JINAN, K.SPECIAL_DRUG): _special_drug(JINAN),
    (JINAN, K.TWO_DISEASES): _TWO_DISEASES,
}


def rule_for(region_code: str, kind: str) -> KindRule | None:
    """The rule of a kind in a region; None: the region has no such certification (e.g. 两病 in Changchun)."""
    return RULES.get((region_code, kind))


def level_admitted(level: str, levels: tuple[str, ...] | None) -> bool:
    return levels is None or level in levels
