"""Requests Django refuses before any view runs, answered with a clear 4xx (never a 500).

Django raises these while reading the body: `RequestDataTooBig` (a JSON or form body above
DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB; files in multipart bodies are not counted), `TooManyFieldsSent`,
`TooManyFilesSent`, and `MultiPartParserError` (multipart/form-data without a boundary, or broken).
The API's exception handlers (config/api.py) and the console's 400 handler (web/errors.py) both
ask `request_error_answer`, so every endpoint answers them the same way.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

REQUEST_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError)


@dataclass(frozen=True)
class RequestErrorAnswer:
    status: int
    code: str
    message: str


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1024 / 1024:.1f}"


def request_error_answer(error: BaseException | None) -> RequestErrorAnswer | None:
    """The answer to one of REQUEST_ERRORS, or None for any other exception."""
    if isinstance(error, RequestDataTooBig):
        return RequestErrorAnswer(
            413,
            "too_large",
            _(
                "The request body is too large: at most %(size)s MB of JSON or form data. "
                "Send files as multipart/form-data uploads, or split the data."
            )
            % {"size": _megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)},
        )
    if isinstance(error, TooManyFieldsSent):
        return RequestErrorAnswer(
            400,
            "too_many_fields",
            _("The form has too many fields (at most %(count)s).") % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
        )
    if isinstance(error, TooManyFilesSent):
        return RequestErrorAnswer(
            400,
            "too_many_files",
            _("Too many files in one request (at most %(count)s).") % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FILES},
        )
    if isinstance(error, MultiPartParserError):
        return RequestErrorAnswer(
            400,
            "invalid_multipart",
            _(
                "The multipart/form-data body could not be read (missing or invalid boundary). "
                "Let the browser or your HTTP client build it (e.g. curl -F file=@name)."
            ),
        )
    return None
