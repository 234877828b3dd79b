"""Enrollment's helpers around `Msg` (medins.messages, re-exported here): a message that reads in
English as a plain string (API, logs, the stored import report) and in the clerk's language in
the admin."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from medins.benefits.errors import InvalidParameter, InvalidRequest, MissingParameter
from medins.messages import Msg
from medins.parsing import ParseError


def label(choice_label) -> Msg:
    """A model choice's lazy label as a Msg (its English text is the msgid)."""
    from django.utils import translation

    with translation.override("en"):
        return Msg(str(choice_label))


def message_of(exc: BaseException) -> Msg | str:
    """The message of an error, as a Msg when it can be translated, else its English text."""
    detail = getattr(exc, "detail", None)
    if isinstance(detail, Msg):
        return detail
    named = isinstance(exc, InvalidRequest) and not isinstance(exc, ParseError)  # its field is part of it
    if isinstance(getattr(exc, "message", None), Msg) and not named:  # ParseError, ImportRefused
        return exc.message
    if exc.args and isinstance(exc.args[0], Msg):
        return exc.args[0]
    if isinstance(exc, MissingParameter):
        return Msg(gettext_noop("policy parameter %(parameter)s is not defined for region %(region)s on %(date)s"),
                   parameter=exc.parameter, region=exc.region, date=exc.date)
    if isinstance(exc, InvalidParameter):
        return Msg(gettext_noop("policy parameter %(parameter)s for region %(region)s on %(date)s is malformed"),
                   parameter=exc.parameter, region=exc.region, date=exc.date)
    return str(exc)


def error_text(error: dict) -> str:
    """An error object of the engine's contract ({"error": {...}} of quote_or_error) as the reader
    reads it: a missing or malformed policy parameter in the active language, naming the parameter,
    region and date; other refusals as the engine gave them."""
    if error.get("code") == "missing_parameter":
        return localized(MissingParameter(error["parameter"], error["region"], error["date"]))
    if error.get("code") == "invalid_parameter":
        return localized(InvalidParameter(error["parameter"], error["region"], error["date"], ""))
    return error.get("message", "")


def localized(exc_or_msg) -> str:
    """An error (or a message) in the active language. A refused request value names its field as the
    reader knows it ("就诊记录: …", InvalidRequest.localized); a ParseError shows its message alone
    (the form puts it beside the field), a FieldInvalid its `detail`."""
    if isinstance(exc_or_msg, InvalidRequest) and not isinstance(exc_or_msg, ParseError) \
            and not isinstance(getattr(exc_or_msg, "detail", None), Msg):
        return exc_or_msg.localized()
    msg = exc_or_msg if isinstance(exc_or_msg, str) else message_of(exc_or_msg)
    return msg.localized() if isinstance(msg, Msg) else str(msg)
