"""How a login attempt meets the lock-out (accounts.lockout), whatever calls `authenticate()`.

`LockoutBackend` stands first in AUTHENTICATION_BACKENDS: a (username, address) pair that must
wait is refused before any password is checked. Django's `user_login_failed` and `user_logged_in`
signals count failures and clear the pair on success (connected in AccountsConfig.ready).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ruralcast.accounts.lockout import login_failure_record, login_locked_until, login_success_record
from ruralcast.core.addresses import client_address

LOCKED_ATTRIBUTE = "ruralcast_login_locked_until"


class LockoutBackend:
    """Refuses a waiting pair (PermissionDenied stops Django's authenticate() there); grants nothing.

    It has no `get_user`, so Django never takes it for the backend that logged someone in.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> None:
        if request is None or not username:
            return None
        until = login_locked_until(username=username, address=client_address(request))
        if until is not None:
            setattr(request, LOCKED_ATTRIBUTE, until)
            raise PermissionDenied("login locked for this address")
        return None


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = credentials.get("username")
    if request is None or not username or getattr(request, LOCKED_ATTRIBUTE, None) is not None:
        return
    until = login_failure_record(username=username, address=client_address(request))
    if until is not None:
        setattr(request, LOCKED_ATTRIBUTE, until)


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        login_success_record(username=user.get_username(), address=client_address(request))
