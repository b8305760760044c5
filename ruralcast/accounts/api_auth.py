"""API authentication: bearer tokens for machines, the console session for people in a browser.

Here rather than in core: a token is an account's, and checking it is an accounts service."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from ruralcast.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """`Authorization: Bearer rc_<prefix>_<secret>`; see accounts.services.api_token_create."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(presented=token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """The console's login session (CSRF-protected for writes); inactive users are refused."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and getattr(user, "is_active", False):
            return user
        return None


API_AUTH = [TokenAuth(), ActiveSessionAuth()]
