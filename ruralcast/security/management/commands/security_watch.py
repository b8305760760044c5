"""`manage.py security_watch [--every 5]`: count the publishes the broker refused (broker_log.py)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ruralcast.messaging.broker import BROKER_LOG_FILE, broker_dir
from ruralcast.security.broker_log import BrokerLogWatch


class Command(BaseCommand):
    help = "Follow the broker's log and record the publishes its ACL refused as security events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="seconds between scans (0: scan once)")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        watch = BrokerLogWatch(path=broker_dir() / BROKER_LOG_FILE)
        while True:
            recorded = watch.scan()
            if recorded or not every:
                self.stdout.write(f"security_watch: {recorded} refused publishes recorded")
            if not every:
                return
            time.sleep(every)
