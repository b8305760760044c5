from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerminalsConfig(AppConfig):
    name = "ruralcast.terminals"
    label = "terminals"
    verbose_name = _("Terminals")

    def ready(self) -> None:
        from ruralcast.messaging.handlers import register_uplink_handler
        from ruralcast.messaging.topics import STATUS
        from ruralcast.terminals.status import status_batch_write

        register_uplink_handler(STATUS, status_batch_write)

        from ruralcast.terminals import commands

        commands.connect()
