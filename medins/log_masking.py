"""A logging filter that keeps full ID numbers and bank accounts out of every log line.

Issue 11, finding 14: an admin search by ID number is a GET query string (`?q=<ID number>`),
and the access log of runserver and gunicorn writes the whole request line. The filter
rewrites each record's message before any handler formats it:

- an 18-character ID number (17 digits and a digit or X) keeps its first 4 and last 4
  characters, like the masked column of the admin lists: 2201**********1234;
- any other run of 12 or more digits (a bank account, an old 15-digit ID number) keeps its
  last 4 digits only.

Shorter numbers (amounts, ids, a search by the last digits) pass unchanged. The exception
text of a record is masked too (a database error quotes the row it refused).

Plain Python, no Django: gunicorn loads it (medins/gunicorn_conf.py) before the application.
"""

from __future__ import annotations

import logging
import re

# Not preceded or followed by another digit, so a 20-digit run is one bank account, not an ID
# number inside it.
_ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9])")
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{8,}([0-9]{4})(?![0-9])")


def mask_personal_data(text: str) -> str:
    """Mask ID numbers and long digit runs in `text` (see the module docstring)."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _DIGIT_RUN.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(1), text)


class MaskPersonalDataFilter(logging.Filter):
    """Installed on every handler (settings.LOGGING, gunicorn_conf) and on gunicorn's loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        masked = mask_personal_data(message)
        if masked != message or record.args:
            # The message is final from here: later handlers and formatters see the masked text.
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return True
