"""`manage.py broker_run [--write-only]`: write mosquitto's configuration, passwords and ACL from the
database and exec mosquitto in the foreground (the Procfile's `broker`).

With RURALCAST_MQTT["LOG_DENIALS"] (the default) mosquitto logs everything, debug included, to
RUN_DIR/broker/mosquitto.log for the security watch, and a relay forked just before the exec copies
its notices, warnings and errors to this command's stderr (messaging/broker_console.py).

mosquitto is required (`make run` installs it, scripts/debian-packages.txt): there is no embedded
fallback broker. Without it the command stops and says what to install.
"""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ruralcast.messaging.broker import BrokerError, broker_config_write, broker_log_path, mosquitto_binary
from ruralcast.messaging.broker_console import console_relay_fork


class Command(BaseCommand):
    help = "Write the broker's configuration, passwords and ACL from the database and run mosquitto in the foreground."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write-only", action="store_true", help="write the files and exit")

    def handle(self, *args: Any, write_only: bool = False, **options: Any) -> None:
        try:
            path = broker_config_write()
            binary = None if write_only else mosquitto_binary()
        except BrokerError as error:
            raise CommandError(str(error)) from error
        if binary is None:
            self.stdout.write(str(path))
            return
        connections.close_all()
        self.stdout.write(f"mosquitto -c {path}")
        self.stdout.flush()
        if (log_path := broker_log_path()) is not None:
            # mosquitto logs debug to its file only; a relay copies the notices to this stderr.
            self.stderr.write(f"mosquitto logs to {log_path}; notices, warnings and errors also here")
            self.stderr.flush()
            console_relay_fork(log_path)
        # exec: mosquitto takes this process's place, so the process manager's signals reach it.
        os.execv(binary, [binary, "-c", str(path)])  # noqa: S606 — fixed program, our own config file
