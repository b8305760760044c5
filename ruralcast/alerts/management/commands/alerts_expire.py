"""`manage.py alerts_expire [--every SECONDS]`: close expired alerts and clear their retained messages."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.alerts.lifecycle import alerts_expire_due


class Command(BaseCommand):
    help = "Close dispatched alerts whose end has passed (once, or every N seconds)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds (0: run once)")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            closed = alerts_expire_due()
            if closed:
                self.stdout.write(f"expired {closed} alert(s)")
            if not options["every"]:
                return
            time.sleep(options["every"])
