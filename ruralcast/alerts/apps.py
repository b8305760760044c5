from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "ruralcast.alerts"
    label = "alerts"
    verbose_name = _("Emergency broadcasting")

    def ready(self) -> None:
        from ruralcast.alerts import wiring

        wiring.connect()
