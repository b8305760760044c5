"""`manage.py demo_simulator`: run the demo county's simulated terminals (for `make run`).

Reads the files `demo_setup` wrote under RUN_DIR/sim/ and execs `ruralcast-terminal simulate`
with them, so the Procfile does not need to know how many terminals there are.
"""

import os
import shutil
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ruralcast.messaging.broker import broker_dir
from ruralcast.messaging.tls import tls_files_ensure
from ruralcast.terminals.demo import simulator_files, trust_file_write


class Command(BaseCommand):
    help = "Run the demo's simulated terminals against the local broker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", default="522632000000", help="county whose terminals to simulate")

    def handle(self, *args: Any, **options: Any) -> None:
        files = simulator_files()
        if not files.count:
            raise CommandError("No demo terminals: run `manage.py demo_setup` first.")
        trust_file_write()  # pick up key rotations since the demo was set up
        program = shutil.which("ruralcast-terminal", path=os.path.dirname(sys.executable)) or "ruralcast-terminal"
        arguments = [
            program,
            "simulate",
            "--count", str(files.count),
            "--region", options["region"],
            *self._broker(),
            "--password-file", str(files.passwords),
            "--trust", str(files.trust),
            "--connect-timeout", "120",
            # The fleet's live view: reports every minute, 2 % with a speaker fault, 3 % never come up.
            "--status-interval", "60",
            "--fault-rate", "0.02",
            "--absent", "0.03",
            # Daily broadcasting: each terminal plays its village's schedule and uploads 播出记录.
            "--playlogs",
        ]  # fmt: skip
        self.stdout.write(f"simulating {files.count} terminals: {' '.join(arguments[:6])} …")
        self.stdout.flush()
        os.execv(program, arguments)  # noqa: S606 — replace this process with the simulator

    def _broker(self) -> list[str]:
        """Over TLS, as a village terminal connects, when the broker has a TLS listener."""
        mqtt = settings.RURALCAST_MQTT
        tls_port = int(mqtt.get("TLS_PORT") or 0)
        if not tls_port:
            return ["--broker", f"{mqtt['HOST']}:{mqtt['PORT']}"]
        ca = tls_files_ensure(broker_dir()).ca
        return ["--broker", f"{mqtt['HOST']}:{tls_port}", "--ca", str(ca)]
