"""Broadcasting in the villagers' portal: what the village's loudspeakers play now and today.

One rail, "On the loudspeakers today": its first tile is what plays now (or what plays next, when
the loudspeakers are quiet), then every piece of today's effective programme (the programme the
village hears after precedence, `programme.effective_programme`), in time order. OK on a tile opens
today's programme with Now/Next on top. The loudspeakers belong to a village: a screen that is not
paired to a village (it sees the deployment's top region) gets no tiles here.
"""

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ruralcast.broadcasting.programme import Entry, effective_programme, local_today, local_zone
from ruralcast.core.registries.portal import Pages, Rail, Screen, Tile, TileType
from ruralcast.regions.codes import Level, level_of_code
from ruralcast.regions.models import Region
from ruralcast.villagers.selectors import portal_screen, screen_for_request

NOW = "broadcasting.now"
PIECE = "broadcasting.piece"


@dataclass(frozen=True)
class Today:
    """Today's pieces for a village in play order, and which one plays now and which next."""

    pieces: list[Entry]
    now: Entry | None
    next: Entry | None


def today_for(*, screen: Screen, at: datetime | None = None) -> Today:
    """What the screen's village hears today (nothing for a screen not paired to a village)."""
    if level_of_code(screen.region_code) != Level.VILLAGE:
        return Today([], None, None)
    village = Region.objects.filter(code=screen.region_code).first()
    if village is None:
        return Today([], None, None)
    at = at or timezone.now()
    programme = effective_programme(village=village, day=local_today())
    pieces = sorted((piece for entry in programme.entries for piece in entry.pieces()), key=lambda p: p.start)
    now = next((piece for piece in pieces if piece.start <= at < piece.end), None)
    upcoming = [piece for piece in pieces if piece.start > at]
    return Today(pieces, now, upcoming[0] if upcoming else None)


def _piece_key(piece: Entry) -> str:
    return f"{piece.slot_id}-{piece.position or 0}-{piece.offset_ms}"


def _clock(moment: datetime) -> str:
    return time_format(moment.astimezone(local_zone()), "H:i")


def today_tiles(*, screen: Screen, limit: int) -> list[Tile]:
    today = today_for(screen=screen)
    tiles: list[Tile] = []
    if today.now is not None:
        tiles.append(Tile(type=NOW, key="now", title=today.now.item_title, subtitle=_("Playing now")))
    elif today.next is not None:
        tiles.append(
            Tile(
                type=NOW,
                key="next",
                title=today.next.item_title,
                subtitle=_("Next at %(time)s") % {"time": _clock(today.next.start)},
            )
        )
    for piece in today.pieces:
        tiles.append(Tile(type=PIECE, key=_piece_key(piece), title=piece.item_title, subtitle=_clock(piece.start)))
    return tiles[:limit]


def _today_url(tile: Tile) -> str:
    url = reverse("portal-broadcasting:today")
    return url if tile.type == NOW else f"{url}?at={tile.key}"


def today_page(request: HttpRequest) -> HttpResponse:
    """Today's programme of the screen's village: Now/Next on top, then every piece with its time."""
    screen = portal_screen(screen_for_request(request))
    today = today_for(screen=screen)
    rows = [
        {"key": _piece_key(p), "title": p.item_title, "time": _clock(p.start), "now": p == today.now}
        for p in today.pieces
    ]
    return TemplateResponse(
        request,
        "broadcasting/portal/today.html",
        {
            "today": today,
            "rows": rows,
            "selected": request.GET.get("at", ""),
            "now_time": _clock(today.now.start) if today.now else "",
            "next_time": _clock(today.next.start) if today.next else "",
        },
    )


TILE_TYPES = [
    TileType(NOW, "broadcasting/portal/tile_now.html", target=_today_url),
    TileType(PIECE, "portal/tile.html", target=_today_url),
]
RAILS = [Rail("broadcasting.today", gettext_lazy("On the loudspeakers today"), order=20, tiles=today_tiles)]
PAGES = [Pages("broadcasting", patterns=[path("today/", today_page, name="today")])]
