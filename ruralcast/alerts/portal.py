"""Alerts in the villagers' portal: the village's alert history (预警记录).

Only messages that reached `dispatched` are shown (whatever happened after: updated, cancelled,
expired), and only those whose targets include the screen's village or a region above it, so an
alert for the neighbouring village never appears. Restricted and private messages stay off the
screens. The emergency overlay that interrupts a screen while an alert is live is the push
service's (ruralcast.portal.push); this rail is the record a villager can look back at.
"""

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ruralcast.alerts.models import Alert, Scope
from ruralcast.core.errors import NotFound
from ruralcast.core.registries.portal import Pages, Rail, Screen, Tile, TileType
from ruralcast.villagers.selectors import portal_screen, screen_for_request, screen_region_codes

HISTORY = "alerts.history"


def screen_alerts(*, screen: Screen) -> QuerySet[Alert]:
    """Public alerts that reached dispatch and target the screen's region (or above it), newest first."""
    ids = Alert.objects.filter(target_rows__region_id__in=screen_region_codes(screen)).values("pk")
    return Alert.objects.filter(pk__in=ids, dispatched_at__isnull=False, scope=Scope.PUBLIC).order_by(
        "-dispatched_at", "-pk"
    )


def _local(moment: datetime | None) -> str:
    """`moment` in the deployment's time zone (date_format, unlike the template filter, does not convert)."""
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT", use_l10n=True) if moment else ""


def history_tiles(*, screen: Screen, limit: int) -> list[Tile]:
    return [
        Tile(
            type=HISTORY,
            key=alert.ebm_id,
            title=alert.title,
            subtitle=_local(alert.dispatched_at),
            data={"colour": alert.colour, "drill": alert.is_drill},
        )
        for alert in screen_alerts(screen=screen)[:limit]
    ]


def alert_page(request: HttpRequest, ebm_id: str) -> HttpResponse:
    """One alert of the village's history: level, title, text, when it was sent and until when."""
    screen = portal_screen(screen_for_request(request))
    alert = screen_alerts(screen=screen).filter(ebm_id=ebm_id).first()
    if alert is None:
        raise NotFound(_("This alert is not in this village's history."))
    return TemplateResponse(request, "alerts/portal/alert.html", {"alert": alert})


TILE_TYPES = [
    TileType(HISTORY, "alerts/portal/tile.html", target=lambda tile: reverse("portal-alerts:alert", args=[tile.key]))
]
RAILS = [Rail("alerts.history", gettext_lazy("Alerts in this village"), order=50, tiles=history_tiles)]
PAGES = [Pages("alerts", patterns=[path("<str:ebm_id>/", alert_page, name="alert")])]
