"""Console pages: login (rate-limited by django-axes), users and roles, API tokens, password."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts import selectors, services
from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.forms import GrantForm, LoginForm, PasswordChangeForm, TokenForm, UserCreateForm
from ruralcast.accounts.roles import Action
from ruralcast.core.formviews import form_round_trip
from ruralcast.core.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.web.paging import paginate


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def lockout_response(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """What django-axes answers once a username/address pair has failed too often (429)."""
    form = LoginForm(request, data=request.POST or None)
    form.is_bound = False
    context = {
        "form": form,
        "locked_out": True,
        "lockout_message": _(
            "Too many failed attempts. This account is locked for 15 minutes; try again later or ask an administrator."
        ),
    }
    return render(request, "accounts/login.html", context, status=429)


@authenticated_view
def users(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.USER_VIEW)
    query = request.GET.get("q", "").strip()[:100]
    listing = selectors.user_list(viewer=request.user, query=query)
    can_manage = bool(action_prefixes(user=request.user, action=Action.USER_MANAGE))
    return render(
        request, "accounts/users.html", {"query": query, "can_manage": can_manage, **paginate(request, listing)}
    )


@authenticated_view
def user_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.USER_MANAGE)
    form = UserCreateForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        user = services.user_create(actor=request.user, **data)
        messages.success(request, _("User %(name)s created.") % {"name": user.username})
        return redirect("accounts:user", username=user.username)

    return form_round_trip(request, form, save, template="accounts/user_create.html")


@authenticated_view
def user_detail(request: AuthenticatedHttpRequest, username: str) -> HttpResponseBase:
    person = selectors.access_user(viewer=request.user, username=username)
    grant_form = GrantForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.role_grant(actor=request.user, user=person, role=data["role"], region=data["region"])
        messages.success(request, _("Role granted."))
        return redirect("accounts:user", username=person.username)

    context = {
        "person": person,
        "grants": selectors.role_grant_list(user=person),
        "can_grant": bool(action_prefixes(user=request.user, action=Action.ROLE_GRANT)),
    }
    return form_round_trip(
        request, grant_form, save, template="accounts/user_detail.html", context=context, form_key="grant_form"
    )


@authenticated_view
@require_POST
def grant_revoke(request: AuthenticatedHttpRequest, grant_id: int) -> HttpResponse:
    grant = selectors.access_role_grant(viewer=request.user, grant_id=grant_id)
    username = grant.user.username
    services.role_revoke(actor=request.user, grant=grant)
    messages.success(request, _("Role revoked."))
    return redirect("accounts:user", username=username)


@authenticated_view
@require_POST
def user_set_active(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)
    active = request.POST.get("is_active") == "1"
    services.user_set_active(actor=request.user, user=person, is_active=active)
    messages.success(request, _("Account activated.") if active else _("Account deactivated."))
    return redirect("accounts:user", username=person.username)


@authenticated_view
def tokens(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    form = TokenForm(request.POST or None)

    def save(data: dict[str, Any]) -> dict[str, Any]:
        _token, created_secret = services.api_token_create(user=request.user, **data)
        return {"form": TokenForm(), "created_secret": created_secret}  # shown once, with an empty form

    context = {"tokens": selectors.api_token_list(user=request.user), "created_secret": None}
    return form_round_trip(request, form, save, template="accounts/tokens.html", context=context)


@authenticated_view
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = selectors.access_api_token(user=request.user, token_id=token_id)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token revoked."))
    return redirect("accounts:tokens")


@authenticated_view
def password_change(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    form = PasswordChangeForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.user_password_change(
            actor=request.user,
            user=request.user,
            old_password=data["old_password"],
            new_password=data["new_password"],
        )
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Password changed."))
        return redirect("web:dashboard")

    return form_round_trip(request, form, save, template="accounts/password_change.html")
