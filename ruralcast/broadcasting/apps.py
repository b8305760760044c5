from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BroadcastingConfig(AppConfig):
    name = "ruralcast.broadcasting"
    label = "broadcasting"
    verbose_name = _("Daily broadcasting")

    def ready(self) -> None:
        from ruralcast.broadcasting import wiring

        wiring.connect()
