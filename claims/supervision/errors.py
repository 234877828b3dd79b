"""Refusals of the supervision services (a stable code and a clerk-readable message)."""

from __future__ import annotations


class SupervisionError(Exception):
    code = "supervision_error"

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self)}


class InvalidFindingTransition(SupervisionError):
    code = "invalid_transition"


class FourEyes(SupervisionError):
    """The person approving a confirmation is the one who confirmed it."""

    code = "four_eyes"


class InvalidGreyListEntry(SupervisionError):
    code = "invalid"


class RecoveryRefused(SupervisionError):
    """A recovery order cannot be made, settled or written off (the message says why, in the clerk's language)."""

    code = "recovery_refused"
