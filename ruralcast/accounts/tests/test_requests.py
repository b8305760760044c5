"""The typed request: a view marked `authenticated_view` only ever sees a logged-in, active User."""

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from config.api import api
from ruralcast.accounts.models import User
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view, request_user_or_none

pytestmark = pytest.mark.django_db

seen: list[User] = []


@authenticated_view
def _whoami(request: AuthenticatedHttpRequest, suffix: str = "") -> HttpResponse:
    seen.append(request.user)
    return HttpResponse(request.user.username + suffix)


def _request(user: object) -> HttpRequest:
    request = RequestFactory().get("/broadcasting/schedules/?page=2")
    request.user = user  # type: ignore[assignment]
    request.session = SessionStore()
    return request


def test_an_anonymous_visitor_is_sent_to_the_login_page_with_next() -> None:
    seen.clear()
    response = _whoami(_request(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/broadcasting/schedules/%3Fpage%3D2"
    assert seen == []


def test_an_inactive_account_is_refused_like_an_anonymous_visitor(deactivated_operator: User) -> None:
    seen.clear()
    response = _whoami(_request(deactivated_operator))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert seen == []


def test_a_logged_in_user_reaches_the_view_with_its_arguments(township_viewer: User) -> None:
    seen.clear()
    response = _whoami(_request(township_viewer), suffix="!")
    assert response.status_code == 200
    assert response.content.decode() == f"{township_viewer.username}!"
    assert seen == [township_viewer]


def test_the_decorated_view_keeps_its_name_and_docstring() -> None:
    assert _whoami.__name__ == "_whoami"
    assert _whoami.__wrapped__ is not None  # type: ignore[attr-defined]


def test_console_pages_refuse_anonymous_visitors_as_before(client: Client) -> None:
    for path in ("/broadcasting/", "/terminals/", "/alerts/", "/reporting/", "/media/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_request_user_or_none_for_pages_anonymous_visitors_may_see(township_viewer: User) -> None:
    assert request_user_or_none(_request(AnonymousUser())) is None
    assert request_user_or_none(_request(township_viewer)) == township_viewer


def _operations() -> list[tuple[str, Callable[..., Any], Any]]:
    found: list[tuple[str, Callable[..., Any], Any]] = []
    for router in api._get_bound_routers():  # the operations as served, with the API's auth applied
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                found.append((f"{router.prefix}{path}", operation.view_func, operation.auth_callbacks))
    return found


def test_every_api_handler_typed_as_authenticated_is_behind_the_api_authentication() -> None:
    """`AuthenticatedHttpRequest` in an API handler is a promise the API's auth keeps: a handler
    claiming it on an operation without authentication (auth=None) would see AnonymousUser."""
    typed = 0
    for path, view, auth in _operations():
        first = next(iter(inspect.signature(view).parameters))
        if get_type_hints(view).get(first) is AuthenticatedHttpRequest:
            typed += 1
            assert auth, f"{path} takes an AuthenticatedHttpRequest but has no authentication"
    assert typed > 100  # the API's handlers do take it
