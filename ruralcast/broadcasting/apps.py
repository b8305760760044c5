from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import register_figure_source
from ruralcast.core.registries.portal import register_pages, register_rail, register_tile_type


class BroadcastingConfig(AppConfig):
    name = "ruralcast.broadcasting"
    label = "broadcasting"
    verbose_name = _("Daily broadcasting")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.broadcasting import figures, portal, wiring

        wiring.connect()
        for source in figures.FIGURES:
            register_figure_source(*source)
        for tile_type in portal.TILE_TYPES:
            register_tile_type(tile_type)
        for rail in portal.RAILS:
            register_rail(rail)
        for pages in portal.PAGES:
            register_pages(pages)
