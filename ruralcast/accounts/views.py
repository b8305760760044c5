"""Console pages: login (lock-out per username and address), the second factor, users and roles,
API tokens, password."""

import math
from datetime import datetime

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from ruralcast.accounts import selectors, services
from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.authentication import LOCKED_ATTRIBUTE
from ruralcast.accounts.forms import (
    GrantForm,
    LoginForm,
    PasswordChangeForm,
    SecondFactorForm,
    SecondFactorResetForm,
    TokenForm,
    UserCreateForm,
)
from ruralcast.accounts.lockout import login_throttle_clear, login_throttle_list
from ruralcast.accounts.models import RecoveryCodeDevice
from ruralcast.accounts.roles import Action
from ruralcast.accounts.second_factor import (
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_check,
    second_factor_enrolled,
    second_factor_required,
    second_factor_reset,
    session_verified,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_secret,
)
from ruralcast.core.addresses import client_address
from ruralcast.core.errors import ApplicationError
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        until = getattr(self.request, LOCKED_ATTRIBUTE, None)
        if until is not None:
            return lockout_response(self.request, until=until)
        return super().form_invalid(form)


def lockout_response(request: HttpRequest, *, until: datetime) -> HttpResponse:
    """The answer while this username may not log in from this address (429, with Retry-After)."""
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    form = LoginForm(request, data=request.POST or None)
    form.is_bound = False
    context = {
        "form": form,
        "locked_out": True,
        "lockout_message": _(
            "Too many failed attempts for this username from your address. Try again in %(minutes)s min "
            "(each further failure doubles the wait), or ask an administrator to clear it. Logging in from "
            "anywhere else is not affected."
        )
        % {"minutes": math.ceil(seconds / 60)},
    }
    response = render(request, "accounts/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return str(resolve_url(settings.LOGIN_REDIRECT_URL))


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """After the password: the code from the authenticator app (or a recovery code)."""
    if not second_factor_enrolled(request.user):  # type: ignore[arg-type]
        return redirect("accounts:second_factor_setup")
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_check(
                user=request.user,  # type: ignore[arg-type]
                token=form.cleaned_data["token"],
                address=client_address(request),
            )
        except ApplicationError as error:
            form_apply_error(form, error)
            status = error.status_code
        else:
            otp_login(request, device)
            if isinstance(device, RecoveryCodeDevice):
                left = recovery_codes_left(user=request.user)  # type: ignore[arg-type]
                messages.warning(
                    request,
                    _("Recovery code used; %(left)s left. Set up your authenticator again if the phone is lost.")
                    % {"left": left},
                )
            return redirect(_next_url(request))
    context = {"form": form, "next": request.GET.get("next", request.POST.get("next", ""))}
    return render(
        request, "accounts/second_factor.html", context, status=400 if status == 200 and form.errors else status
    )


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the key), confirm with a first code, keep the recovery codes."""
    if second_factor_enrolled(request.user) and not session_verified(request.user):  # type: ignore[arg-type]
        return redirect("accounts:second_factor")  # changing an enrolled factor needs the current one first
    device = totp_enrol_start(user=request.user)  # type: ignore[arg-type]
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrol_confirm(user=request.user, device=device, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            otp_login(request, device)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
    uri = device.config_url
    context = {
        "form": form,
        "secret": totp_secret(device),
        "uri": uri,
        "qr_svg": mark_safe(segno.make(uri, error="m").svg_inline(scale=5, title=_("Authenticator QR code"))),  # noqa: S308 — SVG made here from our own URI
        "next": request.GET.get("next", request.POST.get("next", "")),
        "required": second_factor_required(request.user),  # type: ignore[arg-type]
    }
    return render(request, "accounts/second_factor_setup.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    codes = recovery_codes_regenerate(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})


@login_required
@require_POST
def user_second_factor_reset(request: HttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)  # type: ignore[arg-type]
    second_factor_reset(actor=request.user, user=person, reason=request.POST.get("reason", "")[:500])  # type: ignore[arg-type]
    messages.success(request, _("Second factor reset: %(name)s sets it up again at the next login.") % {"name": person})
    return redirect("accounts:user", username=person.username)


@login_required
@require_POST
def user_lockout_clear(request: HttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)  # type: ignore[arg-type]
    login_throttle_clear(actor=request.user, user=person)  # type: ignore[arg-type]
    messages.success(request, _("%(name)s may try to log in again at once.") % {"name": person})
    return redirect("accounts:user", username=person.username)


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
        "can_manage": bool(action_prefixes(user=request.user, action=Action.USER_MANAGE)),  # type: ignore[arg-type]
        "second_factor": {
            "required": second_factor_required(person),
            "enrolled": second_factor_enrolled(person),
            "recovery_codes_left": recovery_codes_left(user=person),
        },
        "lockouts": login_throttle_list(user=person),
        "reset_form": SecondFactorResetForm(),
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
    """The person's API tokens. (A person who needs a second factor reaches this page only verified.)"""
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
