"""The broker's debug log goes to its file only; its console gets notices, warnings and errors.

With LOG_DENIALS (the default) the real mosquitto writes nothing to stderr and everything, debug
included, to RUN_DIR/broker/mosquitto.log; the relay `broker_run` forks copies the lines that are
not the per-packet trace or start-up information to the console.
"""

import io
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ruralcast.messaging.broker import BROKER_LOG_FILE, broker_config_write, broker_dir
from ruralcast.messaging.broker_console import console_copy, console_line
from ruralcast.messaging.client import Publication
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.topics import uplink_topic
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db


def test_the_real_broker_logs_debug_to_its_file_only_and_the_console_gets_the_notices(
    broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    broker.sync()
    log = broker_dir() / BROKER_LOG_FILE
    me = terminal.terminal.code
    sender, _ = listen([], username=me, password=terminal.password, client_id=me)
    sender.publish_all([Publication(uplink_topic(other_terminal.terminal.code, "receipt"), b"{}", qos=1)])
    sender.publish_all([Publication(uplink_topic(me, "status"), b"{}", qos=1)])
    assert wait_for(lambda: "Denied PUBLISH" in log.read_text(), 3.0), log.read_text()
    written = log.read_text()
    # The file has what the security watch reads: the denial (debug) and who connected (notice).
    assert "Received PUBLISH from" in written and f"as {me} " in written
    # mosquitto's own stderr stays empty of the trace.
    assert "Received PUBLISH" not in broker.log_path.read_text()
    console = io.StringIO()
    console_copy(log, 0, console)
    shown = console.getvalue()
    assert "New client connected from 127.0.0.1" in shown and f"as {me} " in shown
    for quiet in ("Received PUBLISH", "Sending PUBACK", "Denied PUBLISH", "mosquitto version", "Opening ipv4"):
        assert quiet not in shown, quiet
    assert len(shown) < len(written) / 2


def test_without_denials_the_broker_logs_notices_to_stderr_as_before(
    settings: Any, mqtt_settings: dict[str, Any]
) -> None:
    settings.RURALCAST_MQTT = {**mqtt_settings, "LOG_DENIALS": False}
    config = broker_config_write().read_text()
    assert "log_dest stderr" in config and "log_type debug" not in config and "log_dest file" not in config


def test_console_lines_are_told_apart_by_their_text() -> None:
    stamp = "2026-12-02T10:00:00: "
    shown = [
        "New client connected from 10.0.0.7:51000 as 52263210000103 (p2, c1, k60, u'52263210000103').",
        "Client 52263210000103 disconnected, not authorised.",
        "Error: Address already in use",
        "Warning: Mosquitto should not be run as root/administrator.",
        "Socket error on client 52263210000103, disconnecting.",
    ]
    quiet = [
        "Received PUBLISH from x (d0, q1, r0, m3, 'rc/v1/up/x/receipt', ... (153 bytes))",
        "Sending PUBACK to x (m3, rc0)",
        "Denied PUBLISH from x (d0, q1, r0, m1, 'rc/v1/down/t/y', ... (2 bytes))",
        "\trc/v1/down/t/x (QoS 1)",
        "mosquitto version 2.0.11 running",
        "Saving in-memory database to /run/broker/mosquitto.db.",
    ]
    assert all(console_line(stamp + line) for line in shown)
    assert not any(console_line(stamp + line) for line in quiet)


def test_the_relay_forked_before_the_exec_copies_notices_and_stops_with_the_program(tmp_path: Path) -> None:
    """broker_run's shape: fork the relay, exec the broker (here a shell writing two lines and
    exiting); the relay shows the notice, not the trace, and exits when its parent is gone."""
    log = tmp_path / "mosquitto.log"
    log.write_text("2026-12-02T09:00:00: Client old closed its connection.\n")  # an earlier run's
    program = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from ruralcast.messaging.broker_console import console_relay_fork
        console_relay_fork(Path({str(log)!r}))
        os.execv("/bin/sh", ["sh", "-c", "sleep 0.3; printf '%s\\n' "
                 "'T: Received PINGREQ from a' 'T: New client connected from 1.2.3.4:5 as a (u1).' >> {log}; sleep 0.5"])
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: "New client connected" in log.read_text(), 1.0)
    # The relay's last copy may land after the shell exits: read what it wrote once it is gone.
    assert "T: New client connected from 1.2.3.4:5 as a (u1)." in done.stderr, done.stderr
    assert "PINGREQ" not in done.stderr and "old closed" not in done.stderr
