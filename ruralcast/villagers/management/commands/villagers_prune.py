"""`manage.py villagers_prune`: delete villagers' data past its retention (PIPL), daily from cron.

Villagers not signed in for RURALCAST_VILLAGER_RETENTION_DAYS, one-time codes older than
RURALCAST_ONE_TIME_CODE_RETENTION_DAYS, screens never paired after
RURALCAST_UNPAIRED_SCREEN_RETENTION_DAYS, counted tries older than a day (services.privacy).
"""

from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.villagers.services import villagers_prune


class Command(BaseCommand):
    help = "Delete villagers' data past its retention: unused accounts, old sign-in codes, never-paired screens."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = villagers_prune()
        self.stdout.write(
            "pruned: {villagers} villagers, {codes} sign-in codes, {screens} never-paired screens, "
            "{attempts} counted tries".format(**counts)
        )
