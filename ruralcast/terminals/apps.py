from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ruralcast.core.languages import language_list_problems
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

        checks.register(terminal_languages_check)
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


def terminal_languages_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """RURALCAST_TERMINAL_LANGUAGES, the preference of terminals without their own, is a non-empty
    list of language codes: a typo would otherwise be provisioned to every such terminal."""
    codes = settings.RURALCAST_TERMINAL_LANGUAGES
    if not isinstance(codes, list | tuple):
        problems = ["Give a list of codes, e.g. zho or iii,zho."]
    elif not codes:
        problems = ["Empty; give e.g. zho or iii,zho."]
    else:
        with translation.override("en"):  # a check's message is for the deployer, in English like the others
            problems = language_list_problems(list(codes))
    if not problems:
        return []
    return [
        checks.Error(
            f"RURALCAST_TERMINAL_LANGUAGES is {codes!r}: {' '.join(problems)}",
            id="terminals.E001",
        )
    ]
