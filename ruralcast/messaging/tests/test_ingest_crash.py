"""No uplink the broker counts as delivered is lost, none is stored twice: a real `manage.py ingest`
process is killed (SIGKILL) mid-stream, stopped (SIGTERM) while the database is away, killed again
during the outage, and the receipts streamed all along are each stored exactly once.

The worker runs as the Procfile runs it, on an SQLite file copied from the test database (with one
alert); the outage is a writer holding the database's write lock (`BEGIN EXCLUSIVE`): the worker's
writes fail with "database is locked" after the busy timeout (1 s here, `?timeout=` in DATABASE_URL).
"""

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts.models import Alert
from ruralcast.core.tests.live_server import BASE_DIR, platform_env
from ruralcast.messaging.client import MqttLink, Publication
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # the copy needs it committed

EBM = "45226320000000101010101202611270001"
CLIENT_ID = "test-ingest-crash"


def terminal_code(n: int) -> str:
    return f"652263210{n:06d}0314010401"[:23]


class Stream(threading.Thread):
    """Terminals' receipts, published (QoS 1) in small bursts until stopped; remembers what the
    broker acknowledged, which is what must end up stored."""

    def __init__(self) -> None:
        super().__init__(name="receipts", daemon=True)
        self.link = MqttLink(client_id="test-terminals", reconnect_base=0.1, reconnect_cap=0.5)
        self.sent: set[tuple[str, str]] = set()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stopping.is_set():
                burst = []
                for _ in range(10):
                    code = terminal_code(n // 3)
                    event = ("received", "started", "finished")[n % 3]
                    body = {"terminal": code, "ebm_id": EBM, "event": event, "at": "2026-11-27T12:00:00+08:00"}
                    burst.append((code, event, Publication(uplink_topic(code, "receipt"), json.dumps(body).encode())))
                    n += 1
                self.link.publish_all([publication for _, _, publication in burst])
                self.sent.update((code, event) for code, event, _ in burst)
                time.sleep(0.03)
        except BaseException as error:  # reported by the test
            self.error = error


def _database_copy(db: Path) -> None:
    """The test database (migrated, with the Guizhou tree) and one alert, into the worker's file."""
    now = timezone.now()
    Alert.objects.create(
        ebm_id=EBM,
        cap_id="crash-test",
        sender_code="45226320000000101010101",
        sender_name="test",
        issuer_region=Region.objects.get(code="522632000000"),
        event_code="11B00",
        onset=now,
        expires=now + timedelta(hours=1),
        title="drill",
        text="drill",
        created_by=User.objects.create_user(username="seed"),
    )
    connection.ensure_connection()
    with sqlite3.connect(db) as target:
        connection.connection.backup(target)


def stored(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as reader:
        return reader.execute("SELECT terminal_code, event FROM alerts_receipt").fetchall()


def test_no_receipt_is_lost_or_stored_twice_when_the_worker_is_killed_and_the_database_goes_away(
    broker: Broker, run_dir: Path, mqtt_settings: dict[str, Any]
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the worker's database is a copy of the SQLite test database")
    db = run_dir / "ingest.sqlite3"
    env = platform_env(
        run_dir,
        DATABASE_URL=f"sqlite:///{db}?timeout=1",
        RURALCAST_MQTT_HOST="127.0.0.1",
        RURALCAST_MQTT_PORT=str(mqtt_settings["PORT"]),
    )
    env.pop("RURALCAST_MQTT_PASSWORD", None)  # the platform password is the one beside the broker
    _database_copy(db)
    logs: list[Path] = []
    processes: list[subprocess.Popen[bytes]] = []

    def worker() -> subprocess.Popen[bytes]:
        connects = broker.log().count(f" as {CLIENT_ID} ")
        path = run_dir / f"ingest-{len(logs)}.log"
        logs.append(path)
        with open(path, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, str(BASE_DIR / "manage.py"), "ingest", "--client-id", CLIENT_ID],
                env=env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        assert wait_for(lambda: broker.log().count(f" as {CLIENT_ID} ") > connects, 120), path.read_text()
        return process

    stream = Stream()
    stream.link.start(wait=5.0)
    first = worker()  # its session (the subscriptions) exists from now on
    stream.start()
    try:
        assert wait_for(lambda: len(stored(db)) >= 100, 30), logs[-1].read_text()
        first.send_signal(signal.SIGKILL)  # mid-stream, holding a batch or two
        first.wait(5)

        outage = sqlite3.connect(db, isolation_level=None)
        outage.execute("BEGIN EXCLUSIVE")
        try:
            before = len(stored(db))
            second = worker()
            time.sleep(2.0)  # it takes what the broker kept and what keeps coming, and cannot write it
            second.send_signal(signal.SIGTERM)  # the operator stops it while the database is away
            assert second.wait(60) == 0, logs[-1].read_text()
            assert "left with the broker" in logs[-1].read_text()
            third = worker()
            time.sleep(2.0)
            third.send_signal(signal.SIGKILL)  # and the next one dies during the outage
            third.wait(5)
            assert len(stored(db)) == before, "nothing is written while the database is locked"
        finally:
            outage.execute("ROLLBACK")
            outage.close()

        last = worker()
        time.sleep(1.0)
        stream.stopping.set()
        stream.join(10)
        assert stream.error is None, stream.error
        assert wait_for(lambda: len(stored(db)) >= len(stream.sent), 30), logs[-1].read_text()
        time.sleep(0.5)  # anything more (a copy) would have been written by now
        last.send_signal(signal.SIGTERM)
        assert last.wait(20) == 0
    finally:
        stream.stopping.set()
        stream.link.stop()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)

    rows = stored(db)
    assert len(stream.sent) > 300
    assert len(rows) == len(set(rows)), "a receipt was stored twice"
    assert set(rows) == stream.sent, f"lost {len(stream.sent - set(rows))} receipts"
