from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import register_figure_source
from ruralcast.core.registries.terminal_history import register_terminal_history
from ruralcast.messaging.credentials import register_credentials_provider
from ruralcast.messaging.handlers import register_uplink_handler
from ruralcast.messaging.topics import STATUS


class TerminalsConfig(AppConfig):
    name = "ruralcast.terminals"
    label = "terminals"
    verbose_name = _("Terminals")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.terminals import commands, figures, selectors
        from ruralcast.terminals.credentials import terminal_broker_accounts
        from ruralcast.terminals.status import status_batch_write

        register_uplink_handler(STATUS, status_batch_write)
        register_credentials_provider("terminals", terminal_broker_accounts)
        commands.connect()
        for source in figures.FIGURES:
            register_figure_source(*source)
        register_terminal_history(
            key="commands", title=_("Commands"), order=10,
            template="terminals/_history_commands.html", rows=selectors.terminal_command_history,
        )  # fmt: skip
        register_terminal_history(
            key="status", title=_("Status changes"), order=20,
            template="terminals/_history_status.html", rows=selectors.terminal_status_history,
        )  # fmt: skip
