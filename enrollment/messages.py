"""Messages that read in English as plain strings (API, logs, command output, the stored import
report) and in the clerk's language in the admin.

A `Msg` is a `str` (its English text) that also keeps its template — the msgid in the
translation catalogue — and its parameters, so the admin can render it again with `gettext` in
the active language. Pure Python: `gettext` is imported only when a message is localised.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from medins.benefits.errors import InvalidParameter, MissingParameter


def _plain(value: Any) -> Any:
    if isinstance(value, (Msg, int, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)  # dates, decimals: their ISO / plain text form


def _render(value: Any, localise: bool) -> Any:
    if isinstance(value, Msg):
        return value.localized() if localise else str.__str__(value)
    if isinstance(value, list):
        return ("、" if localise else ", ").join(str(_render(v, localise)) for v in value)
    return value


class Msg(str):
    """Msg(gettext_noop("check digit is %(got)s, expected %(expected)s"), got="0", expected="9").

    Wrap the template in gettext_noop so makemessages extracts it."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Msg:
        params = {k: _plain(v) for k, v in params.items()}
        text = template % {k: _render(v, False) for k, v in params.items()} if params else template
        obj = super().__new__(cls, text)
        obj.template, obj.params = template, params
        return obj

    def localized(self) -> str:
        from django.utils.translation import gettext

        template = gettext(self.template)
        return template % {k: _render(v, True) for k, v in self.params.items()} if self.params else template

    def as_json(self) -> dict:
        def enc(v):
            if isinstance(v, Msg):
                return v.as_json()
            return [enc(x) for x in v] if isinstance(v, list) else v

        return {"template": self.template, "params": {k: enc(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> Msg:
        def dec(v):
            if isinstance(v, dict):
                return cls.from_json(v)
            return [dec(x) for x in v] if isinstance(v, list) else v

        return cls(data["template"], **{k: dec(v) for k, v in data.get("params", {}).items()})


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
    if exc.args and isinstance(exc.args[0], Msg):
        return exc.args[0]
    if isinstance(exc, MissingParameter):
        return Msg(gettext_noop("policy parameter %(parameter)s is not defined for region %(region)s on %(date)s"),
                   parameter=exc.parameter, region=exc.region, date=exc.date)
    if isinstance(exc, InvalidParameter):
        return Msg(gettext_noop("policy parameter %(parameter)s for region %(region)s on %(date)s is malformed"),
                   parameter=exc.parameter, region=exc.region, date=exc.date)
    return str(exc)


def localized(exc_or_msg) -> str:
    """An error (or a message) in the active language."""
    msg = exc_or_msg if isinstance(exc_or_msg, str) else message_of(exc_or_msg)
    return msg.localized() if isinstance(msg, Msg) else str(msg)
