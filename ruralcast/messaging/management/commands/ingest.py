import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.messaging.ingest import INGEST_CLIENT_ID, IngestWorker


class Command(BaseCommand):
    help = "Write terminals' receipts and status reports from MQTT into the database, in batches."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client-id", default=INGEST_CLIENT_ID, help="MQTT client id (its persistent session)")

    def handle(self, *args: Any, client_id: str = INGEST_CLIENT_ID, **options: Any) -> None:
        logging.getLogger("ruralcast.messaging").setLevel(logging.INFO)
        worker = IngestWorker(client_id=client_id)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.stop())
        stats = worker.run()
        self.stdout.write(f"ingest stopped: {stats.as_dict()}")
