"""The villagers' pages inside the portal: the TV's pairing screen (/portal/pair/) and the phone's
own pages (/portal/me/: sign in with a one-time code, the household, pairing a TV, the villager's
data: see, export, delete). Registered as portal pages from `VillagersConfig.ready()`.

A TV is never asked to type: the pairing screen shows the code and a QR code of the phone page
that confirms it, and polls (htmx) until someone has confirmed it, then moves on to /portal/.
"""

import io
import json
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.core.addresses import client_address
from ruralcast.core.errors import ApplicationError
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.regions.codes import Level, prefix_of
from ruralcast.regions.selectors import region_children, region_deployment_top, region_get
from ruralcast.villagers import selectors, services
from ruralcast.villagers.forms import HouseholdForm, MemberForm, PhoneForm, PhonePairForm, SignInForm
from ruralcast.villagers.models import Screen, Villager

# Ten years: a box keeps its token until the screen is revoked (or the box is reset).
SCREEN_COOKIE_MAX_AGE = 10 * 365 * 24 * 3600
_PHONE_SESSION_KEY = "rc_villager_phone"


def _qr_svg(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", scale=6, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode()


def _code_context(request: HttpRequest, screen: Screen) -> dict[str, Any]:
    code = screen.pairing_code
    phone_url = request.build_absolute_uri(reverse("portal-me:pair")) + f"?code={code}"
    return {
        "screen": screen,
        "code": code,
        "code_spaced": f"{code[:3]} {code[3:]}",
        "qr": _qr_svg(phone_url),
        # How long a code lives before the screen shows a new one (services.screens renews it).
        "code_minutes": services.pairing_code_minutes(),
    }


def pair_screen(request: HttpRequest) -> HttpResponse:
    """The TV's pairing screen: registers an unknown box (setting its device-token cookie) and shows
    its code in very large type with a QR code for the phone. A paired box goes on to /portal/."""
    screen = selectors.screen_for_request(request)
    if screen is not None and screen.is_paired:
        return redirect("portal:home")
    token = ""
    if screen is None:
        screen, token = services.screen_register(
            user_agent=request.headers.get("User-Agent", ""), address=client_address(request)
        )
    else:
        services.screen_code_refresh(screen=screen)
    response = render(request, "villagers/portal/pair.html", _code_context(request, screen))
    if token:
        response.set_cookie(
            selectors.SCREEN_COOKIE,
            token,
            max_age=SCREEN_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    response["Cache-Control"] = "no-store"
    return response


def pair_status(request: HttpRequest) -> HttpResponse:
    """What the pairing screen polls: the (renewed) code, or where to go once it is paired."""
    screen = selectors.screen_for_request(request)
    if screen is None or screen.is_paired:
        target = reverse("portal-pair:screen") if screen is None else reverse("portal:home")
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    services.screen_code_refresh(screen=screen)
    response = render(request, "villagers/portal/_pair_code.html", _code_context(request, screen))
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------- the phone


def _signed_in(request: HttpRequest) -> Villager | None:
    return selectors.villager_for_request(request)


def _to_sign_in(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('portal-me:sign_in')}?next={request.get_full_path()}")


def _next_url(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith("/portal/")
    ):
        return target
    return reverse("portal-me:home")


def me_home(request: HttpRequest) -> HttpResponse:
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    context = {
        "villager": villager,
        "screens": selectors.villager_screens(villager=villager),
        "members": selectors.villager_members(villager=villager),
        "consents": villager.consents.all(),
        "member_form": MemberForm(),
    }
    return render(request, "villagers/portal/me.html", context)


def notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice villagers agree to (its version is RURALCAST_VILLAGERS["NOTICE_VERSION"])."""
    return render(request, "villagers/portal/notice.html", {"version": services.identity.notice_version()})


def sign_in(request: HttpRequest) -> HttpResponseBase:
    """Step 1: the mobile number; a code is sent by SMS."""
    form = PhoneForm(request.POST or None)

    def send(data: dict[str, Any]) -> HttpResponse:
        number = services.villager_code_send(phone=data["phone"], address=client_address(request))
        request.session[_PHONE_SESSION_KEY] = number
        messages.success(request, _("A code was sent by SMS to %(number)s.") % {"number": number})
        return redirect(f"{reverse('portal-me:sign_in_code')}?next={_next_url(request)}")

    return form_round_trip(request, form, send, template="villagers/portal/sign_in.html")


def sign_in_code(request: HttpRequest) -> HttpResponseBase:
    """Step 2: the code from the SMS (and, the first time, a name and the consent)."""
    number = request.session.get(_PHONE_SESSION_KEY)
    if not number:
        return redirect("portal-me:sign_in")
    form = SignInForm(request.POST or None)

    def check(data: dict[str, Any]) -> HttpResponse:
        villager = services.villager_sign_in(
            phone=number,
            code=data["code"],
            consent=data["consent"],
            display_name=data.get("display_name") or "",
            address=client_address(request),
        )
        request.session.cycle_key()  # a new session id at sign-in: no fixation
        request.session.pop(_PHONE_SESSION_KEY, None)
        request.session[selectors.VILLAGER_SESSION_KEY] = villager.pk
        return redirect(_next_url(request))

    return form_round_trip(
        request, form, check, template="villagers/portal/sign_in_code.html", context={"number": number}
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(selectors.VILLAGER_SESSION_KEY, None)
    return redirect("portal-me:sign_in")


def phone_pair(request: HttpRequest) -> HttpResponseBase:
    """The household confirms the code its TV shows (typed, or from the QR code's link)."""
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    form = PhonePairForm(request.POST or None, initial={"code": request.GET.get("code", "")[:7]})

    def save(data: dict[str, Any]) -> HttpResponse:
        services.screen_pair_by_villager(villager=villager, code=data["code"], address=client_address(request))
        messages.success(request, _("The TV is paired to your household. It moves on by itself."))
        return redirect("portal-me:home")

    return form_round_trip(
        request, form, save, template="villagers/portal/pair_phone.html", context={"villager": villager}
    )


def household(request: HttpRequest) -> HttpResponseBase:
    """Set up the household: walk down from the deployment's top region to a village, then name it."""
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    top = region_deployment_top()
    try:
        place = region_get(code=request.GET.get("under", "")) if request.GET.get("under") else top
    except ApplicationError:
        place = top
    if not place.code.startswith(prefix_of(top.code, top.level)):
        place = top
    context: dict[str, Any] = {"villager": villager, "place": place}
    if place.level != Level.VILLAGE:
        context["children"] = region_children(region=place).order_by("code")
        return render(request, "villagers/portal/household.html", context)
    form = HouseholdForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.household_create(
            villager=villager, village=place, label=data["label"], address=data.get("address") or ""
        )
        messages.success(request, _("Your household is set up. You can now pair your TV."))
        return redirect("portal-me:home")

    return form_round_trip(request, form, save, template="villagers/portal/household.html", context=context)


@require_POST
def member_add(request: HttpRequest) -> HttpResponseBase:
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    form = MemberForm(request.POST)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.household_member_add(
            villager=villager,
            display_name=data["display_name"],
            is_minor=data["is_minor"],
            guardian_consents=data["guardian_consents"],
        )
        messages.success(request, _("Member added."))
        return redirect("portal-me:home")

    context = {
        "villager": villager,
        "screens": selectors.villager_screens(villager=villager),
        "members": selectors.villager_members(villager=villager),
        "consents": villager.consents.all(),
    }
    return form_round_trip(
        request, form, save, template="villagers/portal/me.html", context=context, form_key="member_form"
    )


def export(request: HttpRequest) -> HttpResponse:
    """Everything kept about the villager as a JSON download (PIPL: a copy of one's data)."""
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    body = json.dumps(selectors.villager_data(villager=villager), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="ruralcast-my-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


def delete(request: HttpRequest) -> HttpResponse:
    """Delete the villager's data (a confirmation page, then a POST)."""
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    if request.method == "POST":
        services.villager_delete(villager=villager)
        request.session.flush()
        return render(request, "villagers/portal/deleted.html")
    return render(request, "villagers/portal/delete.html", {"villager": villager})


@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    villager = _signed_in(request)
    if villager is None:
        return _to_sign_in(request)
    consent = selectors.villager_consent(villager=villager, pk=pk)
    with service_errors_flashed(request):
        services.consent_withdraw(villager=villager, consent=consent)
        if consent.purpose == "account":
            request.session.flush()
            return render(request, "villagers/portal/deleted.html")
        messages.success(request, _("Consent withdrawn."))
    return redirect("portal-me:home")
