from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import register_figure_source
from ruralcast.core.registries.terminal_history import register_terminal_history


class MaintenanceConfig(AppConfig):
    name = "ruralcast.maintenance"
    label = "maintenance"
    verbose_name = _("Maintenance")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.maintenance import figures, selectors

        for source in figures.FIGURES:
            register_figure_source(*source)
        register_terminal_history(
            key="work_orders", title=_("Work orders"), order=30,
            template="maintenance/_terminal_history.html", rows=selectors.terminal_work_orders,
        )  # fmt: skip
