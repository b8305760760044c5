"""Middleware of every page: refuse a NUL character in the address; believe X-Forwarded-Proto only
from a trusted proxy.

No database column can hold NUL (PostgreSQL refuses, SQLite truncates), so it could only turn a
lookup into a server error. Request bodies are checked by the forms (console) and the API parser.
"""

from collections.abc import Callable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from ruralcast.core.addresses import address_in, parse_address, trusted_proxies


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = unquote(request.META.get("QUERY_STRING", ""))
        if "\x00" in request.path or "\x00" in query:
            message = _("The address may not contain the NUL character (%00).")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": message, "fields": {}}}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class TrustedForwardedProtoMiddleware:
    """Drop X-Forwarded-Proto unless the socket peer is one of `RURALCAST_TRUSTED_PROXIES`.

    In production Django takes `SECURE_PROXY_SSL_HEADER` (X-Forwarded-Proto: https) as proof that the
    connection is HTTPS: secure-cookie decisions, the HTTPS redirect, `request.is_secure()` and the
    origins CSRF and WebAuthn compare follow it. Django believes the header from anyone, and anyone
    who reaches the application server directly can send it. nginx sets it for every request it
    forwards; so the header is honoured only from the proxies the operator trusts (the same setting
    `core.addresses` uses for X-Forwarded-For) and removed before SecurityMiddleware for every other
    peer, whose request then counts as the plain HTTP it is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META:
            peer = parse_address(request.META.get("REMOTE_ADDR") or "")
            if not address_in(peer, trusted_proxies()):
                del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)
