import asyncio
import os
import shutil
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ruralcast.messaging.broker import BrokerError, broker_config_write, broker_dir, mosquitto_binary

ENGINES = ("auto", "mosquitto", "amqtt")


class Command(BaseCommand):
    help = (
        "Write the broker's configuration, passwords and ACL from the database and run mosquitto in the "
        "foreground (amqtt when mosquitto is not installed: a handful of terminals only)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write-only", action="store_true", help="write the files and exit")
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            default="auto",
            help="auto (default): mosquitto when installed, else the amqtt fallback",
        )

    def handle(self, *args: Any, write_only: bool = False, engine: str = "auto", **options: Any) -> None:
        try:
            path = broker_config_write()
        except BrokerError as error:
            raise CommandError(str(error)) from error
        if write_only:
            self.stdout.write(str(path))
            return
        if engine == "amqtt" or (engine == "auto" and not _mosquitto_installed()):
            self._run_amqtt()
            return
        try:
            binary = mosquitto_binary()
        except BrokerError as error:
            raise CommandError(str(error)) from error
        connections.close_all()
        self.stdout.write(f"mosquitto -c {path}")
        self.stdout.flush()
        # exec: mosquitto takes this process's place, so the process manager's signals reach it.
        os.execv(binary, [binary, "-c", str(path)])  # noqa: S606 — fixed program, our own config file

    def _run_amqtt(self) -> None:
        from ruralcast.messaging.fallback_broker import fallback_broker_serve

        config = settings.RURALCAST_MQTT
        host, port = config.get("LISTEN") or config["HOST"], int(config["PORT"])
        connections.close_all()
        self.stderr.write(
            f"mosquitto is not installed: running the amqtt fallback broker on {host}:{port}. "
            "It serves a handful of terminals; install mosquitto (apt-get install mosquitto) for a county."
        )
        asyncio.run(fallback_broker_serve(host=host, port=port, directory=broker_dir()))


def _mosquitto_installed() -> bool:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("mosquitto", path=search) is not None
