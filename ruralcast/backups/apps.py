from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    """Backup and restore of a whole instance (`manage.py backup_create`, `backup_restore`).

    At the top of the layers, beside web and ops: it reads every app's state (the database, the
    signing key store, media, the broker's state file) and has no models of its own."""

    name = "ruralcast.backups"
    label = "backups"
    verbose_name = _("Backups")
