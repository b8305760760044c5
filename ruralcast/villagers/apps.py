from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "ruralcast.villagers"
    label = "villagers"
    verbose_name = _("Villagers, households and screens")

    def ready(self) -> None:
        # The pairing screen and the phone's pages, mounted by the portal under /portal/pair/ and /portal/me/,
        # and the home bar's links to them.
        from ruralcast.core.registries.portal import register_bar_link, register_pages
        from ruralcast.villagers.portal import BAR_LINKS, PAGES

        for pages in PAGES:
            register_pages(pages)
        for link in BAR_LINKS:
            register_bar_link(link)
