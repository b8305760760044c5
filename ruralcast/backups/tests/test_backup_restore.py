"""Backup and restore of a whole instance, with real parts only (audit item 25).

The end-to-end test builds a real instance in its own processes (its own database: another SQLite
file, or another PostgreSQL database when the suite runs on PostgreSQL; its own RUN_DIR and
MEDIA_ROOT; its own mosquitto), backs it up with `manage.py backup_create`, and restores it with
`manage.py backup_restore` into a second, EMPTY instance, after two refused attempts (a changed byte,
a wrong passphrase) that must leave the target as empty as it was. test_backup_checks.py runs the
same code in the test process for the refusals that need no second instance.
"""

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from ruralcast_terminal.protocol import TrustList, open_envelope

from ruralcast.messaging.tests.conftest import free_port

PASSPHRASE = "restore-drill-passphrase-2026"
BASE_DIR = Path(settings.BASE_DIR)


@dataclass
class Instance:
    """One ruralcast instance: its folders, its database and the environment its commands run with."""

    root: Path
    env: dict[str, str]

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def media(self) -> Path:
        return self.run_dir / "media"

    def manage(
        self, *args: str, extra: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env={**self.env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def shell(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.manage("shell", "-c", code)

    def facts(self) -> dict[str, Any]:
        output = self.shell("from ruralcast.backups.tests.instance import facts; facts()").stdout
        line = next(line for line in output.splitlines() if line.startswith("FACTS "))
        return dict(json.loads(line[len("FACTS ") :]))

    def tables(self) -> int:
        code = "from django.db import connection; print('TABLES', len(connection.introspection.table_names()))"
        output = self.shell(code).stdout
        return int(next(line for line in output.splitlines() if line.startswith("TABLES ")).split()[1])


@pytest.fixture
def make_instance(tmp_path: Path) -> Iterator[Callable[[str], Instance]]:
    """make_instance(name): a new, empty instance: a new SQLite file, or a new PostgreSQL database on
    the suite's server when DATABASE_URL names one (dropped afterwards)."""
    server_url = os.environ.get("DATABASE_URL", "")
    created: list[str] = []

    def make(name: str) -> Instance:
        root = tmp_path / name
        (root / "run").mkdir(parents=True)
        if server_url.startswith("postgres"):
            parts = urlsplit(server_url)
            database = f"{parts.path.lstrip('/')}_bk_{uuid.uuid4().hex[:8]}_{name}"[:63]
            _postgres(server_url, f'CREATE DATABASE "{database}"')
            created.append(database)
            url = urlunsplit(parts._replace(path=f"/{database}"))
        else:
            url = f"sqlite:///{root / 'run' / 'db.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RURALCAST_", "DJANGO_", "DATABASE_URL"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.django.test",
            DATABASE_URL=url,
            RURALCAST_RUN_DIR=str(root / "run"),
            MEDIA_ROOT=str(root / "run" / "media"),
            RURALCAST_MQTT_PORT=str(free_port()),
        )
        return Instance(root=root, env=env)

    yield make
    for database in created:
        _postgres(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _postgres(server_url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def broker_running(instance: Instance) -> Iterator[None]:
    """`manage.py broker_run` of the instance (mosquitto, configured from its database); stopped
    with SIGTERM at the end, which makes mosquitto save its state file."""
    port = int(instance.env["RURALCAST_MQTT_PORT"])
    log = (instance.root / "broker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "broker_run"], cwd=BASE_DIR, env=instance.env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (instance.root / "broker.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the broker did not start")
        yield
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_backup_restores_into_an_empty_instance_with_alerts_proofs_keys_media_and_a_verifying_audit_chain(
    make_instance: Callable[[str], Instance], tmp_path: Path
) -> None:
    source = make_instance("source")
    source.manage("migrate", "--noinput", "-v0")
    with broker_running(source):
        source.shell("from ruralcast.backups.tests.instance import build; build()")
    before = source.facts()
    assert before["alerts"][0]["state"] == "dispatched"
    assert {row["outcome"] for row in before["alerts"][0]["proof"]} == {"played", "received"}
    assert before["broker_state_sha256"] and before["media"] and before["upload_files"]

    backup = tmp_path / "backup"
    source.manage("backup_create", "--out", str(backup), extra={"RURALCAST_BACKUP_PASSPHRASE": PASSPHRASE})
    manifest = json.loads((backup / "manifest.json").read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    assert {"keys.enc", manifest["database"]["file"], "broker/mosquitto.db"} <= listed
    assert {f"media/{name}" for name in before["media"]} <= listed
    assert before["keys"][0]["public_key"] not in (backup / "keys.enc").read_text(errors="replace")
    private = json.loads(next((source.run_dir / "keys").glob("*.key")).read_text())["private_key"]
    for path in backup.rglob("*"):
        if path.is_file():
            assert private.encode() not in path.read_bytes()  # the private key is never in clear

    target = make_instance("target")
    with_passphrase = {"RURALCAST_BACKUP_PASSPHRASE": PASSPHRASE}

    # A changed byte in one media file: refused, nothing restored.
    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-a", str(backup), str(damaged)], check=True)
    media_file = next(p for p in (damaged / "media").rglob("*") if p.is_file())
    _flip_a_byte(media_file)
    result = target.manage("backup_restore", str(damaged), extra=with_passphrase, check=False)
    assert result.returncode != 0 and "SHA-256" in result.stderr, result.stderr
    # A wrong passphrase: refused, nothing restored.
    result = target.manage("backup_restore", str(backup), extra={"RURALCAST_BACKUP_PASSPHRASE": "not-the-passphrase"}, check=False)  # fmt: skip
    assert result.returncode != 0 and "口令错误" in result.stderr, result.stderr  # the command speaks Chinese
    assert target.tables() == 0
    assert not target.media.exists() or not any(p.is_file() for p in target.media.rglob("*"))
    assert not (target.run_dir / "keys").exists()

    restored = target.manage("backup_restore", str(backup), extra=with_passphrase)
    assert "restore OK" in restored.stdout, restored.stdout
    after = target.facts()
    for name in ("alerts", "outbox", "keys", "trust_list", "audit", "uploads", "media", "upload_files"):
        assert after[name] == before[name], name
    assert after["broker_state_sha256"] == before["broker_state_sha256"]
    # The restored key signs, and what it signs verifies with the public key the old instance published.
    envelope, payload = open_envelope(base64.b64decode(after["probe_b64"]), TrustList.from_json(before["trust_list"]))
    assert payload["kind"] == "restore-probe" and envelope.serial == before["keys"][0]["serial"]
    assert "audit chain OK" in target.manage("audit_verify").stdout
    # The restored broker state still holds the retained alert the old broker had.
    with broker_running(target):
        retained = target.shell("from ruralcast.backups.tests.instance import retained; retained()").stdout
    topics = json.loads(next(line for line in retained.splitlines() if line.startswith("RETAINED "))[9:])
    assert {item["sha256"] for item in before["outbox"] if item["kind"] == "alert.dispatch"} <= set(topics.values())
