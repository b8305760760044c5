"""`manage.py feeds_poll [--every SECONDS]`: poll the CAP feeds that are due (alerts.feeds.poller)."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.alerts.feeds.poller import feeds_poll_due


class Command(BaseCommand):
    help = "Poll the CAP feed subscriptions that are due and draft their new messages (once, or every N seconds)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds (0: run once)")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            for result in feeds_poll_due():
                imported = sum(1 for e in result.entries if e.outcome == "imported")
                if result.status != "not-modified":
                    self.stdout.write(
                        f"{result.status}: {imported} imported, {len(result.entries)} read {result.error}"
                    )
            if not options["every"]:
                return
            time.sleep(options["every"])
