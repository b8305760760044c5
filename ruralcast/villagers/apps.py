from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "ruralcast.villagers"
    label = "villagers"
    verbose_name = _("Villagers, households and screens")

    def ready(self) -> None:
        # The pairing screen and the phone's pages, mounted by the portal under /portal/pair/ and /portal/me/.
        from ruralcast.core.registries.portal import register_pages
        from ruralcast.villagers.portal import PAGES

        for pages in PAGES:
            register_pages(pages)
