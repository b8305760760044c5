"""Console pages: login (rate-limited by django-axes), users and roles, API tokens, password."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts import selectors, services
from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.forms import GrantForm, LoginForm, PasswordChangeForm, TokenForm, UserCreateForm
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate


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


@login_required
def users(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.USER_VIEW)  # type: ignore[arg-type]
    query = request.GET.get("q", "").strip()[:100]
    listing = selectors.user_list(viewer=request.user, query=query)  # type: ignore[arg-type]
    can_manage = bool(action_prefixes(user=request.user, action=Action.USER_MANAGE))  # type: ignore[arg-type]
    return render(
        request, "accounts/users.html", {"query": query, "can_manage": can_manage, **paginate(request, listing)}
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.USER_MANAGE)  # type: ignore[arg-type]
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("accounts:user", username=user.username)
    return render(request, "accounts/user_create.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)  # type: ignore[arg-type]
    grant_form = GrantForm(request.POST or None)
    if request.method == "POST" and grant_form.is_valid():
        try:
            services.role_grant(
                actor=request.user,  # type: ignore[arg-type]
                user=person,
                role=grant_form.cleaned_data["role"],
                region=grant_form.cleaned_data["region"],
            )
        except ApplicationError as error:
            form_apply_error(grant_form, error)
        else:
            messages.success(request, _("Role granted."))
            return redirect("accounts:user", username=person.username)
    context = {
        "person": person,
        "grants": selectors.role_grant_list(user=person),
        "grant_form": grant_form,
        "can_grant": bool(action_prefixes(user=request.user, action=Action.ROLE_GRANT)),  # type: ignore[arg-type]
    }
    return render(request, "accounts/user_detail.html", context, status=400 if grant_form.errors else 200)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = selectors.access_role_grant(viewer=request.user, grant_id=grant_id)  # type: ignore[arg-type]
    username = grant.user.username
    services.role_revoke(actor=request.user, grant=grant)  # type: ignore[arg-type]
    messages.success(request, _("Role revoked."))
    return redirect("accounts:user", username=username)


@login_required
@require_POST
def user_set_active(request: HttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)  # type: ignore[arg-type]
    active = request.POST.get("is_active") == "1"
    services.user_set_active(actor=request.user, user=person, is_active=active)  # type: ignore[arg-type]
    messages.success(request, _("Account activated.") if active else _("Account deactivated."))
    return redirect("accounts:user", username=person.username)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, created_secret = services.api_token_create(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            form = TokenForm()
    context = {"form": form, "tokens": selectors.api_token_list(user=request.user), "created_secret": created_secret}  # type: ignore[arg-type]
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.access_api_token(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    services.api_token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
    messages.success(request, _("Token revoked."))
    return redirect("accounts:tokens")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_change(
                actor=request.user,  # type: ignore[arg-type]
                user=request.user,  # type: ignore[arg-type]
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Password changed."))
            return redirect("web:dashboard")
    return render(request, "accounts/password_change.html", {"form": form}, status=400 if form.errors else 200)
