"""The request as a view sees it once the person is known: `request.user` is an `accounts.User`.

Django types `request.user` as "a user or AnonymousUser", so every service call that takes a
`User` would need a cast. Instead, a view that requires a login says so once, in its signature:

    @authenticated_view
    def schedule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
        listing = selectors.schedule_list(user=request.user)   # a User, checked

`authenticated_view` is Django's `login_required` (an anonymous visitor is sent to the login page
with `?next=`), plus a refusal of inactive accounts, and it hands the view the typed request — the
way Zulip's `authenticated_json_view` hands its views a `user_profile`. API handlers take the same
type: every operation of the API is behind `accounts.api_auth.API_AUTH`, which only lets a logged-in,
active user or a valid token through and sets both `request.user` and ninja's `request.auth` to
that user (`accounts/tests/test_requests.py` checks that no unauthenticated operation claims the type).
Pages that anonymous visitors may see too (public media) ask `request_user_or_none(request)`.

It lives in accounts, beside the `User` it types (core stays below every app).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponseBase

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from ruralcast.accounts.models import User

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class AuthenticatedHttpRequest(HttpRequest):
    """An HttpRequest whose user is logged in and active: never AnonymousUser.

    A type only; nothing constructs it. `authenticated_view` guarantees it for console views, the
    API's authentication for API handlers.
    """

    user: User
    auth: User
    htmx: HtmxDetails  # django_htmx's middleware runs for every request


def is_active_user(user: Any) -> bool:
    """The test both doors apply: a logged-in account that is still active."""
    return bool(user.is_authenticated and user.is_active)


def authenticated_view(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """Require a logged-in, active user, then call `view` with the request typed as such.

    Anyone else is redirected to the login page with `?next=` (what `login_required` does).
    """

    @functools.wraps(view)
    def typed(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        return view(cast(AuthenticatedHttpRequest, request), *args, **kwargs)

    return user_passes_test(is_active_user)(typed)


def request_user_or_none(request: HttpRequest) -> User | None:
    """The logged-in, active user of a page anonymous visitors may also see; None for them."""
    user = request.user
    return user if is_active_user(user) and user.is_authenticated else None
