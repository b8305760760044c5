"""The one family of errors that services raise for bad input or forbidden actions.

Views and API handlers map them to a 4xx answer with a message that says what to fix; they never
become a 500. Messages are translatable and written for the person at the keyboard.
"""

from typing import Any


class ApplicationError(Exception):
    """Base class: `code` is stable for programs, `message` is for people, `fields` names inputs."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: Any, *, fields: dict[str, list[str]] | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationError(ApplicationError):
    """The input is wrong; `fields` says which part."""

    status_code = 400
    code = "invalid"


class NotFound(ApplicationError):
    """The object asked for does not exist (or the user may not know it exists)."""

    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    """The user is known but may not do this action on this region."""

    status_code = 403
    code = "forbidden"


class Conflict(ApplicationError):
    """The request clashes with the current state (e.g. a duplicate name)."""

    status_code = 409
    code = "conflict"


class ServiceUnavailable(ApplicationError):
    """A tool or resource of this machine is missing or failing: an operator must act, not the user."""

    status_code = 503
    code = "unavailable"


def error_body(error: ApplicationError) -> dict[str, Any]:
    """The consistent JSON error body of the API: {"error": {"code", "message", "fields"}}."""
    return {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
