"""The portal's own rail: the notice board (公告栏) of the screen's village and the regions above it."""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy

from ruralcast.core.registries.portal import Rail, Screen, Tile, TileType
from ruralcast.portal.selectors import notices_for_screen

NOTICE = "portal.notice"


def notice_tiles(*, screen: Screen, limit: int) -> list[Tile]:
    return [
        Tile(
            type=NOTICE,
            key=str(notice.pk),
            title=notice.title,
            subtitle=date_format(timezone.localtime(notice.posted_at), "SHORT_DATE_FORMAT", use_l10n=True),
        )
        for notice in notices_for_screen(screen=screen)[:limit]
    ]


TILE_TYPES = [TileType(NOTICE, "portal/tile.html", target=lambda tile: reverse("portal:notice", args=[tile.key]))]
RAILS = [Rail("portal.notices", gettext_lazy("Notices"), order=10, tiles=notice_tiles)]
