"""Pages of the villagers' portal: the TV's ten-foot screens and the same pages on a phone.

Every page is server-rendered for a screen with five keys (see templates/portal/base.html and
static/portal/portal.js); the console's notice board page is the one page for staff.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.registries.portal import bar_links, rail_tiles, rails, tile_type
from ruralcast.portal import selectors, services
from ruralcast.portal.forms import NoticeForm
from ruralcast.villagers.selectors import portal_screen, screen_for_request

# Tiles per rail on the home screen: a rail scrolls sideways, more would only cost the weak box.
RAIL_LIMIT = 12


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
        "bar_links": [
            {"dom": link.code.replace(".", "-"), "url": link.url(), "label": link.label}
            for link in bar_links(screen=for_screen)
        ],
    }
    return TemplateResponse(request, "portal/home.html", context)


def notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    """One notice of the board, in large type."""
    screen = portal_screen(screen_for_request(request))
    shown = selectors.access_notice_for_screen(screen=screen, notice_id=notice_id)
    return TemplateResponse(request, "portal/notice.html", {"notice": shown})


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
