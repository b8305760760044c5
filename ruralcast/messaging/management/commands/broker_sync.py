from typing import Any

from django.core.management.base import BaseCommand

from ruralcast.messaging.broker import broker_files_write, broker_reload


class Command(BaseCommand):
    help = "Rewrite the broker's password and ACL files from the terminal registry and reload mosquitto."

    def handle(self, *args: Any, **options: Any) -> None:
        count = broker_files_write()
        reloaded = broker_reload()
        self.stdout.write(f"{count} terminals; broker {'reloaded' if reloaded else 'not running here'}")
