"""A session of someone who needs a second factor reaches nothing until it has passed one.

Runs after django-otp's OTPMiddleware (which tells whether the session is verified). Console pages
redirect to enrolment (no authenticator yet) or to the code page; the API answers 403 with the
error body. Requests with an API token carry no session user here and pass (see second_factor).
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ruralcast.accounts.second_factor import second_factor_enrolled, second_factor_required, session_verified

_OPEN_PREFIXES = ("/accounts/second-factor/", "/accounts/logout/", "/static/", "/i18n/", "/healthz", "/metrics")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            not request.path.startswith(_OPEN_PREFIXES)
            and user.is_authenticated
            and not session_verified(user)
            and second_factor_required(user)
        ):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        enrolled = second_factor_enrolled(request.user)  # type: ignore[arg-type]
        if request.path.startswith("/api/"):
            # Say what to do and on which page: the code from the app, a recovery code or a security key
            # on the code page; without any factor, the app first (keys are added after a verified login).
            if enrolled:
                message = _(
                    "Your roles need a second factor: open %(page)s in the console and enter the code from "
                    "your authenticator app (TOTP) or a recovery code, or use your security key; then retry "
                    "with that session, or create an API token on %(tokens)s."
                ) % {"page": reverse("accounts:second_factor"), "tokens": reverse("accounts:tokens")}
            else:
                message = _(
                    "Your roles need a second factor and you have none yet: open %(page)s in the console "
                    "and set up an authenticator app (TOTP); after that you can also add a security key "
                    "on %(keys)s."
                ) % {"page": reverse("accounts:second_factor_setup"), "keys": reverse("accounts:security_keys")}
            body = {"error": {"code": "second_factor_required", "message": message, "fields": {}}}
            return JsonResponse(body, status=403)
        target = reverse("accounts:second_factor" if enrolled else "accounts:second_factor_setup")
        following = request.get_full_path() if request.method == "GET" else ""
        return redirect(f"{target}?{urlencode({'next': following})}" if following else target)
