"""Applications as they arrive from outside (hospital API, school API, school portal), read into
the arguments of the certification services (DOMAIN.md §5). One reader for the three ways in.

Every bad value raises medins.parsing.ParseError naming the field (its message in the reader's
language through Msg), never an exception past the request.

Decisions (the issue and DOMAIN.md are silent):
- A hospital applies for persons of its own region only (the person is looked up by ID number
  among the region's insured); a school for its own students only, and the answer is the same
  whether the person is unknown or another school's (nothing leaks).
- The disease or drug is named by its catalogue code, looked up in the person's region in the
  kind's catalogue (kinds.py); institutions by their code in the same region.
- Attachments: at most CERTIFICATION_ATTACHMENT_MAX_BYTES each (the services' limit) and
  ATTACHMENTS_MAX per request, and only the scanned-document types of ATTACHMENT_TYPES,
  recognised by their first bytes (the client's declared content type is not trusted; the stored
  one is the recognised type). Each names the document of the application's checklist it is.
- The special-drug assessment form is a JSON object of at most 60 entries, each value text,
  a number or a yes/no, 16 kB in all.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from enrollment.idnumber import normalize
from enrollment.models import Person
from medins.messages import Msg
from medins.models import CatalogueItem, Institution
from medins.parsing import ParseError, gettext_noop, parse_date, parse_text

from .kinds import rule_for
from .models import Certification, CertificationAttachment, CertificationKind
from .services import attachment_max_bytes

ATTACHMENTS_MAX = 20
ATTACHMENT_TYPES = {  # recognised by the first bytes
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
ASSESSMENT_MAX_KEYS = 60
ASSESSMENT_MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class Upload:
    """One attachment, checked: what certification_attach receives."""

    document_code: str
    filename: str
    content_type: str
    content: bytes

    def as_kwargs(self) -> dict:
        return {"document_code": self.document_code, "filename": self.filename, "content_type": self.content_type,
                "content": self.content}


def _refuse(field: str, template: str, **params) -> ParseError:
    return ParseError(field, Msg(template, **params))


def read_client_id(header: str | None, body_value: Any, *, field: str = "application_id") -> str:
    """The applicant's own application id: the Idempotency-Key header or the body's field (required)."""
    value = header if header else body_value
    return parse_text(value, field, max_length=Certification._meta.get_field("client_id").max_length, numbers=True,
                      required=True)


def _person(data: dict, *, region_id: int | None, school_id: int | None) -> Person:
    id_number = normalize(parse_text(data.get("id_number"), "id_number", max_length=18, required=True))
    qs = Person.objects.select_related("region", "school")
    person = (qs.filter(id_number=id_number, school_id=school_id) if school_id is not None
              else qs.filter(id_number=id_number, region_id=region_id)).first()
    if person is None:
        if school_id is not None:
            raise _refuse("id_number", gettext_noop("is not an insured student of this school"))
        raise _refuse("id_number", gettext_noop("is not an insured person of this region"))
    return person


def _institution(data: dict, field: str, *, region_id: int) -> Institution | None:
    code = parse_text(data.get(field), field, max_length=Institution._meta.get_field("code").max_length)
    if not code:
        return None
    institution = Institution.objects.filter(region_id=region_id, code=code, active=True).first()
    if institution is None:
        raise _refuse(field, gettext_noop("%(code)s is not a designated institution of the region"), code=code)
    return institution


def _assessment(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _refuse("assessment", gettext_noop("must be an object of the form's entries"))
    if len(value) > ASSESSMENT_MAX_KEYS:
        raise _refuse("assessment", gettext_noop("at most %(max)s entries"), max=ASSESSMENT_MAX_KEYS)
    for key, entry in value.items():
        parse_text(key, "assessment", max_length=100)
        if isinstance(entry, str):
            parse_text(entry, f"assessment.{key}", max_length=2000, multiline=True)
        elif entry is not None and type(entry) not in (bool, int, float):
            raise _refuse(f"assessment.{key}", gettext_noop("must be text, a number or yes/no"))
    if len(json.dumps(value, ensure_ascii=False).encode()) > ASSESSMENT_MAX_BYTES:
        raise _refuse("assessment", gettext_noop("is larger than %(kb)s kB"), kb=ASSESSMENT_MAX_BYTES // 1024)
    return value


def read_application(data: Any, *, applicant_institution: Institution | None = None, school=None) -> dict:
    """The keyword arguments of certification_apply (without acting_user) for one application.

    A hospital (applicant_institution) names the kind; a school's application is always a chronic
    (门规) certification of one of its students."""
    if not isinstance(data, dict):
        raise _refuse("body", gettext_noop("must be a JSON object"))
    if school is not None:
        rule = rule_for(school.region.code, CertificationKind.CHRONIC)
        if rule is None or not rule.school_forwards:  # Jinan college students' 门规 files (DOMAIN.md §4.2, §5)
            raise _refuse("kind", gettext_noop("only Jinan schools forward chronic-disease (门规) files"))
        kind = CertificationKind.CHRONIC
        kind_value = data.get("kind")
        if kind_value not in (None, "", kind):
            raise _refuse("kind", gettext_noop("a school forwards chronic-disease (chronic) applications only"))
        person = _person(data, region_id=None, school_id=school.pk)
    else:
        kind = parse_text(data.get("kind"), "kind", max_length=20, required=True)
        if kind not in CertificationKind.values:
            raise _refuse("kind", gettext_noop("must be one of %(choices)s"), choices=list(CertificationKind.values))
        person = _person(data, region_id=applicant_institution.region_id, school_id=None)
    rule = rule_for(person.region.code, kind)
    if rule is None:
        raise _refuse("kind", gettext_noop("the region has no %(kind)s"), kind=kind)
    code = parse_text(data.get("item"), "item", max_length=CatalogueItem._meta.get_field("code").max_length, required=True)
    item = CatalogueItem.objects.filter(region_id=person.region_id, code=code, kind=rule.catalogue).first()
    if item is None:
        raise _refuse("item", gettext_noop("%(code)s is not a disease or drug of this kind in the region"), code=code)
    insulin_since = data.get("insulin_since")
    kwargs = {
        "person": person, "kind": kind, "item": item,
        "applicant_institution": applicant_institution, "school": school,
        "institution": _institution(data, "institution", region_id=person.region_id),
        "dispensing_institution": _institution(data, "dispensing_institution", region_id=person.region_id),
        "insulin_since": parse_date(insulin_since, "insulin_since") if insulin_since not in (None, "") else None,
        "assessment": _assessment(data.get("assessment")),
    }
    return kwargs


def read_attachment(*, field: str, filename: Any, content: bytes, document_code: Any, code_field: str | None = None
                    ) -> Upload:
    """One attachment checked against the size and type limits (`code_field`: where its document code came from)."""
    name = parse_text(filename, f"{field}.filename", max_length=None) or "attachment"
    name = name.replace("/", "_").replace("\\", "_")[:CertificationAttachment._meta.get_field("filename").max_length]
    code = parse_text(document_code, code_field or f"{field}.document_code", required=True,
                      max_length=CertificationAttachment._meta.get_field("document_code").max_length)
    if not content:
        raise _refuse(field, gettext_noop("the file is empty"))
    if len(content) > attachment_max_bytes():
        raise _refuse(field, gettext_noop("is larger than %(mb)s MB"), mb=attachment_max_bytes() // (1024 * 1024))
    content_type = next((kind for kind, starts in ATTACHMENT_TYPES.items() if content.startswith(starts)), None)
    if content_type is None:
        raise _refuse(field, gettext_noop("must be a scanned document: PDF, JPEG, PNG or TIFF"))
    return Upload(document_code=code, filename=name, content_type=content_type, content=content)


def read_inline_attachments(value: Any) -> list[Upload]:
    """`attachments: [{document, filename, content_base64}]` of a JSON body (as the school batches send them)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise _refuse("attachments", gettext_noop("must be a list of attachments"))
    if len(value) > ATTACHMENTS_MAX:
        raise _refuse("attachments", gettext_noop("at most %(max)s attachments"), max=ATTACHMENTS_MAX)
    out = []
    for i, entry in enumerate(value):
        field = f"attachments[{i}]"
        if not isinstance(entry, dict) or type(entry.get("content_base64")) is not str:
            raise _refuse(field, gettext_noop("must be an object with content_base64"))
        if len(entry["content_base64"]) > (attachment_max_bytes() * 4) // 3 + 4:
            raise _refuse(field, gettext_noop("is larger than %(mb)s MB"), mb=attachment_max_bytes() // (1024 * 1024))
        try:
            content = base64.b64decode(entry["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(field, gettext_noop("content_base64 is not base64")) from None
        out.append(read_attachment(field=field, filename=entry.get("filename"), content=content,
                                   document_code=entry.get("document_code")))
    return out


def read_uploaded_files(files, document_code: Any, *, field: str = "file", code_field: str = "document_code"
                        ) -> list[Upload]:
    """Uploaded files (multipart or the portal's form), each checked; read at most the limit plus one byte."""
    if len(files) > ATTACHMENTS_MAX:
        raise _refuse(field, gettext_noop("at most %(max)s attachments"), max=ATTACHMENTS_MAX)
    out = []
    for f in files:
        if f.size is not None and f.size > attachment_max_bytes():
            raise _refuse(field, gettext_noop("is larger than %(mb)s MB"), mb=attachment_max_bytes() // (1024 * 1024))
        content = f.read(attachment_max_bytes() + 1)
        out.append(read_attachment(field=field, filename=f.name, content=content, document_code=document_code,
                                   code_field=code_field))
    return out
