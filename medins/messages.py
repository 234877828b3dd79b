"""Messages that read in English as plain strings (API, logs, command output, stored reports) and in
the reader's language where one is shown (admin, portal).

A `Msg` is a `str` (its English text) that also keeps its template — the msgid in the
translation catalogue — and its parameters, so it can be rendered again with `gettext` in the
active language. Pure Python: `gettext` is imported only when a message is localised.
"""

from __future__ import annotations

from typing import Any


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
