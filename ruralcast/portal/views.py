"""Pages of the villagers' portal: the TV's ten-foot screens and the same pages on a phone.

Every page is server-rendered for a screen with five keys (see templates/portal/base.html and
static/portal/portal.js); the console's notice board page is the one page for staff.
"""

import hashlib
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ValidationError
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.registries.portal import rail_tiles, rails, tile_type
from ruralcast.portal import selectors, services
from ruralcast.portal.forms import NoticeForm
from ruralcast.speech.services import MP3_MIME, speech_synthesize
from ruralcast.villagers.selectors import portal_screen, screen_for_request

# Tiles per rail on the home screen: a rail scrolls sideways, more would only cost the weak box.
RAIL_LIMIT = 12
# A tile title read aloud: longer text is not a title (the notice's body is not read).
SPEAK_MAX = 80
_ONE_YEAR = 365 * 24 * 3600


def home(request: HttpRequest) -> HttpResponse:
    """The home screen: rails of large tiles for the screen's village (or the top region).

    Each registered rail answers for the screen; a rail without tiles is left out, so a new
    deployment shows only what it has. One query or two per rail, whatever the number of tiles."""
    screen = screen_for_request(request)
    for_screen = portal_screen(screen)
    shown = []
    for rail in rails():
        tiles = []
        for tile in rail_tiles(rail=rail, screen=for_screen, limit=RAIL_LIMIT):
            kind = tile_type(tile.type)
            assert kind is not None  # rail_tiles refuses unregistered types
            tiles.append({"tile": tile, "template": kind.template, "url": kind.target(tile)})
        if tiles:
            shown.append({"code": rail.code, "dom": rail.code.replace(".", "-"), "title": rail.title, "tiles": tiles})
    context = {
        "screen": screen,
        "portal_screen": for_screen,
        "rails": shown,
        "region_name": screen.village.name if screen is not None and screen.is_paired and screen.village else "",
        "account_links": _account_links(),
    }
    return TemplateResponse(request, "portal/home.html", context)


# The villagers app's pages the home links to (pairing, the household's own data), when mounted.
_ACCOUNT_LINKS = (("pair", "/portal/pair/", gettext_lazy("Pair this screen")), ("me", "/portal/me/", gettext_lazy("Me")))


def _account_links() -> list[dict[str, Any]]:
    links = []
    for code, url, label in _ACCOUNT_LINKS:
        try:
            resolve(url)
        except Resolver404:
            continue
        links.append({"code": code, "url": url, "label": label})
    return links


def notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    """One notice of the board, in large type."""
    screen = portal_screen(screen_for_request(request))
    shown = selectors.access_notice_for_screen(screen=screen, notice_id=notice_id)
    return TemplateResponse(request, "portal/notice.html", {"notice": shown})


def speech_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@require_GET
def speech(request: HttpRequest, language: str, digest: str) -> HttpResponseBase:
    """A tile title read aloud (MP3, `audio/mpeg`), for the read-aloud option.

    The URL is keyed by the text's SHA-256 and the language, and the text comes along as `?text=`:
    the hash must match, so one URL always means the same audio and browsers and proxies may keep
    it for a year. The audio is made by the platform's speech synthesis (espeak-ng) and cached in
    its store; a second request for the same text runs no engine."""
    text = request.GET.get("text", "").strip()
    if speech_key(text) != digest:
        raise ValidationError(
            _("The text does not match its key: ask for /portal/speech/<language>/<sha256 of the text>.mp3?text=…"),
            fields={"text": [_("Does not match the key in the address.")]},
        )
    if len(text) > SPEAK_MAX:
        raise ValidationError(
            _("Only tile titles are read aloud: at most %(limit)s characters.") % {"limit": SPEAK_MAX},
            fields={"text": [_("Too long.")]},
        )
    audio = speech_synthesize(text=text, language=language)
    response = FileResponse(default_storage.open(audio.name, "rb"), content_type=MP3_MIME)
    response["Cache-Control"] = f"public, max-age={_ONE_YEAR}, immutable"
    response["Content-Length"] = str(audio.size)
    return response


@require_GET
def speech_redirect(request: HttpRequest, language: str) -> HttpResponse:
    """The keyed address of `?text=`, for browsers without crypto.subtle (plain http on a village LAN)."""
    text = request.GET.get("text", "").strip()
    url = reverse("portal:speech", args=[language, speech_key(text)])
    return redirect(f"{url}?{urlencode({'text': text})}")


# ---------------------------------------------------------------------------- the console's notice board


@authenticated_view
def notice_board(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The console page where a village or township posts notices to its screens."""
    access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)
    home_region = getattr(request.user, "home_region_id", "") or ""
    form = NoticeForm(request.POST or None, initial={"region": home_region, "expires_at": NoticeForm.default_expiry()})

    def save(data: dict[str, Any]) -> HttpResponse:
        services.notice_post(
            actor=request.user,
            region=data["region"],
            title=data["title"],
            body=data["body"],
            expires_at=data["expires_at"],
        )
        messages.success(request, _("Notice posted: the screens of the region show it from now on."))
        return redirect("portal:notice_board")

    context = {"notices": selectors.notice_list(user=request.user)[:100], "now": timezone.now()}
    return form_round_trip(request, form, save, template="portal/console/notices.html", context=context)


@require_POST
@authenticated_view
def notice_withdraw(request: AuthenticatedHttpRequest, notice_id: int) -> HttpResponse:
    shown = selectors.access_notice(user=request.user, notice_id=notice_id)
    with service_errors_flashed(request):
        services.notice_withdraw(actor=request.user, notice=shown)
        messages.success(request, _("Notice withdrawn from the screens."))
    return redirect("portal:notice_board")
