"""Errors the pure engine raises; callers turn them into the contract's error objects."""


class QuoteError(Exception):
    code = "invalid_request"

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self)}


class InvalidRequest(QuoteError):
    """A request value refused: str() and as_dict() name the field by its key ("visits: …"), the
    machine-readable form API clients and logs keep; `localized()` is what a reader is shown."""

    code = "invalid_request"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def localized(self, columns=None) -> str:
        """The refusal in the active language, its field by its label for a Chinese reader: "就诊记录:
        这些就诊…" instead of "visits: 这些就诊…" (medins.parsing.field_label; `columns`: the
        importer's own headers). Django is imported only here: the engine stays pure."""
        from medins.parsing import field_label

        message = self.message.localized() if callable(getattr(self.message, "localized", None)) else str(self.message)
        return f"{field_label(self.field, columns)}: {message}"

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self), "field": self.field}


class MissingParameter(QuoteError):
    """A policy parameter is not defined for the region on the date: never guess."""

    code = "missing_parameter"

    def __init__(self, parameter: str, region: str, date):
        self.parameter = parameter
        self.region = region
        self.date = date
        super().__init__(f"Policy parameter '{parameter}' is not defined for region {region} on {date}")

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "parameter": self.parameter,
            "region": self.region,
            "date": str(self.date) if self.date is not None else None,
        }


class NotEligible(QuoteError):
    code = "not_eligible"


class InvalidParameter(QuoteError):
    """A policy parameter exists but its value has the wrong shape: refuse rather than guess."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, region: str, date, problem: str):
        self.parameter = parameter
        self.region = region
        self.date = date
        super().__init__(f"Policy parameter '{parameter}' for region {region} on {date} is malformed: {problem}")

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "parameter": self.parameter,
            "region": self.region,
            "date": str(self.date) if self.date is not None else None,
        }
