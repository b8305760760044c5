"""The ruralcast API (/api/v1): one NinjaAPI, one error format, routers from each domain app.

Every error answer has the body {"error": {"code", "message", "fields"}}: services raise
`ApplicationError`s with a message for people; schema validation errors name the fields.
"""

import structlog
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from ruralcast.accounts.api import router as accounts_router
from ruralcast.accounts.api_auth import API_AUTH
from ruralcast.alerts.api import router as alerts_router
from ruralcast.audit.api import router as audit_router
from ruralcast.broadcasting.api import router as broadcasting_router
from ruralcast.core.api_parser import StrictParser
from ruralcast.core.errors import ApplicationError, error_body
from ruralcast.core.request_errors import request_error_answer
from ruralcast.core.validation_messages import validation_message
from ruralcast.live.api import router as live_router
from ruralcast.maintenance.api import router as maintenance_router
from ruralcast.media.api import router as media_router
from ruralcast.regions.api import designations_router
from ruralcast.regions.api import router as regions_router
from ruralcast.reporting.api import router as reporting_router
from ruralcast.terminals.api import router as terminals_router

log = structlog.get_logger("ruralcast.api")


class ApiDocs(Swagger):
    """Swagger UI at /api/v1/docs from our copy of ninja's page, which says its language
    (``<html lang="en">``: Swagger UI's own words are English) for screen readers."""

    template = "web/api/swagger.html"


api = NinjaAPI(
    title="ruralcast API",
    version="1",
    description=(
        "Open API of ruralcast, the Smart Broadcasting platform for rural areas. Authenticate with "
        "`Authorization: Bearer <token>` (create a token in the console under *API tokens*) or with "
        'the console\'s session. Errors share one body: `{"error": {"code", "message", "fields"}}`.'
    ),
    auth=API_AUTH,
    parser=StrictParser(),
    urls_namespace="api",
    docs_url="/docs",
    docs=ApiDocs(),
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    return api.create_response(request, error_body(error), status=error.status_code)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", []) if part not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(location) or "request", []).append(validation_message(item))
    return _error(request, 400, "invalid", _("The request is not valid; see fields."), fields)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("Log in or send a valid API token."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, ApplicationError):  # our parser refused the body (see core.api_parser)
        return _application_error(request, error.__cause__)
    return _error(request, error.status_code, "http_error", str(error))


@api.exception_handler(RequestDataTooBig)
@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
@api.exception_handler(MultiPartParserError)
def _request_error(request: HttpRequest, error: Exception) -> HttpResponse:
    """Bodies Django refuses to read (too large, too many fields, broken multipart): a 4xx, not a 500."""
    answer = request_error_answer(error)
    assert answer is not None
    return _error(request, answer.status, answer.code, answer.message)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    log.exception("api.unexpected_error", path=request.path)
    return _error(request, 500, "server_error", _("Something went wrong on our side; it has been logged."))


api.add_router("/regions", regions_router)
api.add_router("/designations", designations_router)
api.add_router("/", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/alerts", alerts_router)
api.add_router("/reporting", reporting_router)
api.add_router("/broadcasting", broadcasting_router)
api.add_router("/live", live_router)
api.add_router("/media", media_router)
api.add_router("/terminals", terminals_router)
api.add_router("/maintenance", maintenance_router)
