import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.messaging.dispatcher import Dispatcher


class Command(BaseCommand):
    help = "Publish the outbox over MQTT (one persistent connection); runs until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--poll", type=float, default=None, help="seconds between polls of due rows")

    def handle(self, *args: Any, poll: float | None = None, **options: Any) -> None:
        logging.getLogger("ruralcast.messaging").setLevel(logging.INFO)
        dispatcher = Dispatcher(poll=poll)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: dispatcher.stop())
        dispatcher.run()
