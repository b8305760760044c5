"""Media in the villagers' portal: lives (on now or coming) and replays (ready videos), and the player.

A household screen has no login: it watches what is public, and what is restricted to a region
(`Access.REGION`) when its village lies in that region (the asset's owner region, or one of a
live's audience regions, is the village or above it), as a person living there may (`watch_q`).
The player is full-screen HLS through the vendored hls.js, driven by five keys: OK plays and
pauses, Left/Right seek 10 s back/forward, Down reaches the bar with 返回 and Now/Next.
"""

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ruralcast.core.errors import NotFound
from ruralcast.core.registries.portal import Pages, Rail, Screen, Tile, TileType
from ruralcast.media import links
from ruralcast.media.models import Access, Asset, AssetState, Kind, LiveEvent, LiveStatus
from ruralcast.villagers.selectors import portal_screen, screen_for_request, screen_region_codes

LIVE = "media.live"
REPLAY = "media.replay"
HLS_MASTER = "hls/master.m3u8"


def _key(uid: str, access: str) -> str:
    """The key of the file URLs a screen plays: the uid of a public video, else a signed, expiring one."""
    return uid if access == Access.PUBLIC else links.signed_key(uid)


def screen_lives(*, screen: Screen) -> QuerySet[LiveEvent]:
    """Lives on now or still to come that the screen may watch, those on now first."""
    visible = Q(access=Access.PUBLIC) | Q(access=Access.REGION, audience__in=screen_region_codes(screen))
    ids = LiveEvent.objects.filter(visible).exclude(status=LiveStatus.ENDED).values("pk")
    return LiveEvent.objects.filter(pk__in=ids).order_by("status", "starts_at", "pk")  # "live" before "waiting"


def screen_replays(*, screen: Screen) -> QuerySet[Asset]:
    """Ready videos with an HLS rendition that the screen may watch, newest first."""
    visible = Q(access=Access.PUBLIC) | Q(access=Access.REGION, owner_region_id__in=screen_region_codes(screen))
    return (
        Asset.objects.filter(visible, state=AssetState.READY, kind=Kind.VIDEO, renditions__path=HLS_MASTER)
        .distinct()
        .order_by("-created_at", "-pk")
    )


def live_tiles(*, screen: Screen, limit: int) -> list[Tile]:
    return [
        Tile(
            type=LIVE,
            key=event.uid,
            title=event.title,
            subtitle=_("Live now")
            if event.status == LiveStatus.LIVE
            else _("Starts %(time)s")
            % {"time": date_format(timezone.localtime(event.starts_at), "SHORT_DATETIME_FORMAT", use_l10n=True)},
            data={"live": event.status == LiveStatus.LIVE},
        )
        for event in screen_lives(screen=screen)[:limit]
    ]


def replay_tiles(*, screen: Screen, limit: int) -> list[Tile]:
    tiles = []
    for asset in screen_replays(screen=screen)[:limit]:
        key = _key(asset.uid, asset.access)
        poster = links.file_url(key, asset.poster_name) if asset.poster_name else ""
        minutes = max(1, round(asset.duration / 60)) if asset.duration else 0
        subtitle = _("%(minutes)s min") % {"minutes": minutes} if minutes else ""
        tiles.append(Tile(type=REPLAY, key=asset.uid, title=asset.title, subtitle=subtitle, image_url=poster))
    return tiles


def _neighbours(items: list, current: object) -> object | None:
    """The item after `current` in `items` (Next), or None."""
    for index, item in enumerate(items):
        if item == current and index + 1 < len(items):
            return items[index + 1]
    return None


def replay_page(request: HttpRequest, uid: str) -> HttpResponse:
    """Full-screen player for one replay; Now is this video, Next the one after it on the rail."""
    screen = portal_screen(screen_for_request(request))
    replays = list(screen_replays(screen=screen)[:50])
    asset = next((a for a in replays if a.uid == uid), None)
    if asset is None:
        raise NotFound(_("This video is not available on this screen."))
    key = _key(asset.uid, asset.access)
    following = _neighbours(replays, asset)
    context = {
        "title": asset.title,
        "hls": links.file_url(key, HLS_MASTER),
        "poster": links.file_url(key, asset.poster_name) if asset.poster_name else "",
        "live": False,
        "next_title": getattr(following, "title", ""),
        "next_url": reverse("portal-media:replay", args=[following.uid]) if isinstance(following, Asset) else "",
    }
    return TemplateResponse(request, "media/portal/player.html", context)


def live_page(request: HttpRequest, uid: str) -> HttpResponse:
    """Full-screen player for one live; Next is the live after it (by start)."""
    screen = portal_screen(screen_for_request(request))
    lives = list(screen_lives(screen=screen)[:50])
    event = next((e for e in lives if e.uid == uid), None)
    if event is None:
        raise NotFound(_("This live is not available on this screen."))
    key = _key(event.uid, event.access)
    following = _neighbours(lives, event)
    context = {
        "title": event.title,
        "hls": links.live_url(key, "index.m3u8") if event.status == LiveStatus.LIVE else "",
        "poster": "",
        "live": True,
        "starts_at": event.starts_at,
        "next_title": getattr(following, "title", ""),
        "next_url": reverse("portal-media:live", args=[following.uid]) if isinstance(following, LiveEvent) else "",
    }
    return TemplateResponse(request, "media/portal/player.html", context)


TILE_TYPES = [
    TileType(LIVE, "portal/tile.html", target=lambda tile: reverse("portal-media:live", args=[tile.key])),
    TileType(REPLAY, "portal/tile.html", target=lambda tile: reverse("portal-media:replay", args=[tile.key])),
]
RAILS = [
    Rail("media.lives", gettext_lazy("Live"), order=30, tiles=live_tiles),
    Rail("media.replays", gettext_lazy("Replays"), order=40, tiles=replay_tiles),
]
PAGES = [
    Pages(
        "media",
        patterns=[
            path("replay/<str:uid>/", replay_page, name="replay"),
            path("live/<str:uid>/", live_page, name="live"),
        ],
    )
]
