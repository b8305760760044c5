"""Refused logins as security events: Django's `user_login_failed`, connected in SecurityConfig.ready.

Accounts (the foundation, below this app) counts failures for its lock-out; this receiver counts
the same signal for the panel, a pair already waiting included (the lock-out refuses it unchecked).
The event's region is the person's home region; a name nobody has is counted without a region
(the top of the deployment sees it).
"""

from typing import Any

from django.http import HttpRequest

from ruralcast.accounts.authentication import LOCKED_ATTRIBUTE
from ruralcast.accounts.models import User
from ruralcast.core.addresses import client_address
from ruralcast.security.models import SecurityKind
from ruralcast.security.services import SecurityEventIn, security_events_record


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    if not username:
        return
    person = User.objects.filter(username__iexact=username).only("home_region_id").first()
    address = client_address(request) if request is not None else ""
    locked = request is not None and getattr(request, LOCKED_ATTRIBUTE, None) is not None
    detail = f"{address} (locked)" if locked else address
    security_events_record(
        events=[
            SecurityEventIn(
                kind=SecurityKind.LOGIN_REFUSED,
                region_code=(person.home_region_id or "") if person is not None else "",
                username=username,
                detail=detail,
            )
        ]
    )
