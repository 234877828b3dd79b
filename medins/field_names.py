"""Fields a refusal names that no importer declares as a column: a Chinese reader sees "就诊记录: …",
not "visits: …". medins.parsing.field_label reads this table after the headers of the importer at
hand (its `columns`) and before the headers all importers agree on.

Also the generic name of a field that importers head differently for one meaning ("id_number":
身份证号 in one file, 身份证号码 in another). A field whose importers give it different meanings
("name": 机构名称 of an institution, 姓名 of a person) has no entry: only its importer's own
columns name it (field_label's `columns`), never a guess. Imported lazily by field_label, so the
benefit engine, which uses medins.parsing, imports no Django when it is loaded."""

from django.utils.translation import pgettext_lazy

FIELD_NAMES = {
    "assessment": pgettext_lazy("field in a refusal", "assessment"),
    "body": pgettext_lazy("field in a refusal", "request body"),
    "care_home": pgettext_lazy("field in a refusal", "care home"),
    "cases": pgettext_lazy("field in a refusal", "cases"),
    "decision": pgettext_lazy("field in a refusal", "decision"),
    "file": pgettext_lazy("field in a refusal", "file"),
    "files": pgettext_lazy("field in a refusal", "files"),
    "id_number": pgettext_lazy("field in a refusal", "ID number"),
    "institution": pgettext_lazy("field in a refusal", "institution"),
    "insulin_since": pgettext_lazy("field in a refusal", "insulin since"),
    "invoices": pgettext_lazy("field in a refusal", "invoices"),
    "item": pgettext_lazy("field in a refusal", "disease or drug"),
    "kind": pgettext_lazy("field in a refusal", "kind"),
    "level": pgettext_lazy("field in a refusal", "level"),
    "lines": pgettext_lazy("field in a refusal", "itemised lines"),
    "months": pgettext_lazy("field in a refusal", "months"),
    "note": pgettext_lazy("field in a refusal", "note"),
    "person": pgettext_lazy("field in a refusal", "insured person"),
    "reason": pgettext_lazy("field in a refusal", "reason"),
    "row": pgettext_lazy("field in a refusal", "row"),
    "school": pgettext_lazy("field in a refusal", "school"),
    "signups": pgettext_lazy("field in a refusal", "sign-ups"),
    "stay": pgettext_lazy("field in a refusal", "stay"),
    "stays": pgettext_lazy("field in a refusal", "stays"),
    "valid_from": pgettext_lazy("field in a refusal", "valid from"),
    "visits": pgettext_lazy("field in a refusal", "visits"),
    "year": pgettext_lazy("field in a refusal", "year"),
}
