"""Friendly error pages, and the mapping of ApplicationError raised by a console view to one."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ruralcast.core.errors import ApplicationError
from ruralcast.core.request_errors import request_error_answer

_TITLES = {
    400: gettext_lazy("The request could not be used"),
    403: gettext_lazy("Not allowed"),
    404: gettext_lazy("Not found"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Too large"),
    500: gettext_lazy("Something went wrong"),
}


def error_page(request: HttpRequest, *, status: int, message: str) -> HttpResponse:
    title = str(_TITLES.get(status, _TITLES[400]))
    return render(request, "web/error.html", {"status": status, "title": title, "message": message}, status=status)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(
        request, status=403, message=_("Your roles do not allow this page. Ask your administrator if you need it.")
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, status=404, message=_("The page or object you asked for does not exist."))


def handler500(request: HttpRequest) -> HttpResponse:
    return error_page(request, status=500, message=_("The error has been logged. Please try again in a moment."))


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Also the answer to bodies Django refuses before any view (too large: 413; broken multipart)."""
    answer = request_error_answer(exception)
    if answer is None:
        return error_page(request, status=400, message=_("The request was malformed."))
    if request.path.startswith("/api/"):
        body = {"error": {"code": answer.code, "message": answer.message, "fields": {}}}
        return JsonResponse(body, status=answer.status)
    return error_page(request, status=answer.status, message=answer.message)


class ApplicationErrorMiddleware:
    """An ApplicationError escaping a console view becomes a 4xx page, never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError) and not request.path.startswith("/api/"):
            return error_page(request, status=exception.status_code, message=exception.message)
        return None
