"""Console pages: login (lock-out per username and address), the second factor (app, recovery
codes, security keys), users and roles, API tokens, password."""

import math
from datetime import datetime
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
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
    SecurityKeyAddForm,
    SecurityKeyCheckForm,
    TokenForm,
    UserCreateForm,
)
from ruralcast.accounts.lockout import login_throttle_clear, login_throttle_list
from ruralcast.accounts.models import RecoveryCodeDevice
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
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
from ruralcast.accounts.security_keys import (
    relying_party,
    security_key_add,
    security_key_authentication_options,
    security_key_check,
    security_key_registration_options,
    security_key_remove,
)
from ruralcast.core.addresses import client_address
from ruralcast.core.errors import ApplicationError, ValidationError
from ruralcast.core.forms import form_apply_error
from ruralcast.core.formviews import form_round_trip
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


def _second_factor_page(
    request: AuthenticatedHttpRequest, form: SecondFactorForm, *, status: int, key_error: str = ""
) -> HttpResponse:
    """The code page; with the person's security keys at this host, also "use my security key"."""
    rp = relying_party(request)
    key_options = security_key_authentication_options(user=request.user, rp=rp, session=request.session) if rp else None
    context = {
        "form": form,
        "next": request.GET.get("next", request.POST.get("next", "")),
        "key_options": key_options,
        "key_error": key_error,
    }
    return render(request, "accounts/second_factor.html", context, status=status)


def _verified(request: HttpRequest, device: Any) -> HttpResponse:
    otp_login(request, device)
    return redirect(_next_url(request))


@authenticated_view
def second_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    """After the password: the code from the authenticator app (or a recovery code), or a security key."""
    if not second_factor_enrolled(request.user):
        return redirect("accounts:second_factor_setup")
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_check(
                user=request.user,
                token=form.cleaned_data["token"],
                address=client_address(request),
            )
        except ApplicationError as error:
            form_apply_error(form, error)
            status = error.status_code
        else:
            if isinstance(device, RecoveryCodeDevice):
                left = recovery_codes_left(user=request.user)
                messages.warning(
                    request,
                    _("Recovery code used; %(left)s left. Set up your authenticator again if the phone is lost.")
                    % {"left": left},
                )
            return _verified(request, device)
    return _second_factor_page(request, form, status=400 if status == 200 and form.errors else status)


@authenticated_view
@require_POST
def second_factor_key(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The security key's signature over the challenge of the code page (the verify step, like a code)."""
    form = SecurityKeyCheckForm(request.POST)
    rp = relying_party(request)
    try:
        if rp is None or not form.is_valid():
            raise ValidationError(_("Security keys work only when the console is opened by its name, not its address."))
        key = security_key_check(
            user=request.user,
            rp=rp,
            session=request.session,
            credential=form.cleaned_data["credential"],
            address=client_address(request),
        )
    except ApplicationError as error:
        return _second_factor_page(request, SecondFactorForm(), status=error.status_code, key_error=error.message)
    return _verified(request, key)


@authenticated_view
def second_factor_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the key), confirm with a first code, keep the recovery codes."""
    if second_factor_enrolled(request.user) and not session_verified(request.user):
        return redirect("accounts:second_factor")  # changing an enrolled factor needs the current one first
    device = totp_enrol_start(user=request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrol_confirm(user=request.user, device=device, token=form.cleaned_data["token"])
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
        "required": second_factor_required(request.user),
    }
    return render(request, "accounts/second_factor_setup.html", context, status=400 if form.errors else 200)


@authenticated_view
@require_POST
def recovery_codes_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    codes = recovery_codes_regenerate(user=request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})


@authenticated_view
def security_keys(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's security keys: add one (named), see when each was last used, remove one.

    Only from a verified session: whoever has just the password must not add a key of their own.
    """
    if not session_verified(request.user):
        messages.info(request, _("Confirm your second factor first; then you can add a security key."))
        target = "accounts:second_factor" if second_factor_enrolled(request.user) else "accounts:second_factor_setup"
        return redirect(f"{resolve_url(target)}?next={resolve_url('accounts:security_keys')}")
    rp = relying_party(request)
    form = SecurityKeyAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            try:
                if rp is None:
                    raise ValidationError(
                        _("Security keys work only when the console is opened by its name, not its address.")
                    )
                key = security_key_add(
                    user=request.user,
                    rp=rp,
                    session=request.session,
                    credential=form.cleaned_data["credential"],
                    name=form.cleaned_data["name"],
                )
            except ApplicationError as error:
                form_apply_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("Security key “%(name)s” added.") % {"name": key.name})
                return redirect("accounts:security_keys")
    context = {
        "form": form,
        "keys": selectors.security_key_list(user=request.user),
        "options": security_key_registration_options(user=request.user, rp=rp, session=request.session) if rp else None,
        "by_address": rp is None,
    }
    return render(request, "accounts/security_keys.html", context, status=status)


@authenticated_view
@require_POST
def security_key_delete(request: AuthenticatedHttpRequest, key_id: int) -> HttpResponse:
    if not session_verified(request.user):
        return redirect("accounts:security_keys")
    key = selectors.access_security_key(user=request.user, key_id=key_id)
    security_key_remove(actor=request.user, key=key)
    messages.success(request, _("Security key “%(name)s” removed.") % {"name": key.name})
    return redirect("accounts:security_keys")


@authenticated_view
@require_POST
def user_second_factor_reset(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)
    second_factor_reset(actor=request.user, user=person, reason=request.POST.get("reason", "")[:500])
    messages.success(request, _("Second factor reset: %(name)s sets it up again at the next login.") % {"name": person})
    return redirect("accounts:user", username=person.username)


@authenticated_view
@require_POST
def user_lockout_clear(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    person = selectors.access_user(viewer=request.user, username=username)
    login_throttle_clear(actor=request.user, user=person)
    messages.success(request, _("%(name)s may try to log in again at once.") % {"name": person})
    return redirect("accounts:user", username=person.username)


@authenticated_view
def users(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.USER_VIEW)
    query = request.GET.get("q", "").strip()[:100]
    # People by default; the CAP feeds' drafting accounts only when asked for (an unknown value is people).
    kind = selectors.AccountKind.SYSTEM if request.GET.get("kind") == "system" else selectors.AccountKind.PEOPLE
    listing = selectors.user_list(viewer=request.user, query=query, kind=kind)
    can_manage = bool(action_prefixes(user=request.user, action=Action.USER_MANAGE))
    context = {"query": query, "kind": kind, "can_manage": can_manage, **paginate(request, listing)}
    return render(request, "accounts/users.html", context)


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

    system = selectors.is_system_account(person)  # managed by its feed, not edited as a person
    context = {
        "person": person,
        "system_account": system,
        "system_owner": selectors.system_account_owner(user=person) if system else None,
        "grants": selectors.role_grant_list(user=person),
        "can_grant": not system and bool(action_prefixes(user=request.user, action=Action.ROLE_GRANT)),
        "can_manage": not system and bool(action_prefixes(user=request.user, action=Action.USER_MANAGE)),
        "second_factor": {
            "required": second_factor_required(person),
            "enrolled": second_factor_enrolled(person),
            "recovery_codes_left": recovery_codes_left(user=person),
            "security_keys": selectors.security_key_list(user=person).count(),
        },
        "lockouts": login_throttle_list(user=person),
        "reset_form": SecondFactorResetForm(),
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
    """The person's API tokens. (A person who needs a second factor reaches this page only verified.)"""
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
