from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.portal import register_rail, register_tile_type


class PortalConfig(AppConfig):
    name = "ruralcast.portal"
    label = "portal"
    verbose_name = _("Villagers' portal")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is ready.
        from ruralcast.portal import portal

        for tile_type in portal.TILE_TYPES:
            register_tile_type(tile_type)
        for rail in portal.RAILS:
            register_rail(rail)
