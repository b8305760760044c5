"""`manage.py schedules_refresh`: send each scheduled village its effective-schedule document again.

Run once a day shortly after midnight (cron or a systemd timer); a second run on the same day does
nothing. See docs/broadcasting.md, "The effective-schedule document".
"""

from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.broadcasting.services import schedules_refresh


class Command(BaseCommand):
    help = "Queue today's effective-schedule documents for every village with terminals under an active schedule."

    def handle(self, *args: Any, **options: Any) -> None:
        change = schedules_refresh()
        if change is None:
            self.stdout.write("nothing to refresh (done today already, or no scheduled village)")
        else:
            self.stdout.write(f"queued documents version {change.pk} for {len(change.villages)} villages")
