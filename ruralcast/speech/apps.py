from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.portal import register_pages


class SpeechConfig(AppConfig):
    name = "ruralcast.speech"
    label = "speech"
    verbose_name = _("Speech")

    def ready(self) -> None:
        # Imported here, not at the top: the portal page module imports the storage and the engines.
        from ruralcast.speech import portal

        for pages in portal.PAGES:
            register_pages(pages)
