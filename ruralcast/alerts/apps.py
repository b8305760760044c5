from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import register_figure_source
from ruralcast.core.registries.portal import register_pages, register_rail, register_tile_type
from ruralcast.core.registries.terminal_history import register_terminal_history


class AlertsConfig(AppConfig):
    name = "ruralcast.alerts"
    label = "alerts"
    verbose_name = _("Emergency broadcasting")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.alerts import figures, portal, selectors, wiring

        wiring.connect()
        for source in figures.FIGURES:
            register_figure_source(*source)
        for tile_type in portal.TILE_TYPES:
            register_tile_type(tile_type)
        for rail in portal.RAILS:
            register_rail(rail)
        for pages in portal.PAGES:
            register_pages(pages)
        register_terminal_history(
            key="alerts", title=_("Alerts played"), order=40,
            template="alerts/_terminal_history.html", rows=selectors.terminal_receipts,
        )  # fmt: skip
