"""The whole path with real parts: two people, espeak-ng, SM2 signature, mosquitto with per-device
credentials, a real terminal agent and simulated terminals, receipts ingested into the database.

    operator drafts + submits (speech) → approver approves (outbox row) → dispatcher signs and
    publishes one message per region topic → the agent and the simulator verify and play →
    receipts over MQTT → ingest worker → Receipt rows → broadcast status and proof of broadcast.
"""

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from ruralcast_terminal.agent import Agent, AgentConfig
from ruralcast_terminal.protocol import message_split

from ruralcast.accounts.models import User
from ruralcast.alerts.lifecycle import alert_cancel, alert_prepare_update
from ruralcast.alerts.models import Alert, Receipt, State, Status
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.selectors import broadcast_status, proof_rows, signing_serial, silent_terminals
from ruralcast.alerts.services import AlertFields, alert_approve, alert_create, alert_edit, alert_submit
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.tests.conftest import Broker, mqtt_settings, run_dir  # noqa: F401 — fixtures
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.services import Registration, terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def broker(mqtt_settings: dict[str, Any]) -> Iterator[Broker]:  # noqa: F811
    """mosquitto configured by the platform on a free port, not yet started (the test starts it)."""
    server = Broker(mqtt_settings["PORT"])
    yield server
    server.stop()


def _agent(registration: Registration, *, port: int, trust: Path, folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A real `ruralcast-terminal agent` process with its provisioning file and a file sink."""
    cache = folder / registration.terminal.code
    config = folder / f"{registration.terminal.code}.json"
    config.write_text(
        json.dumps(
            {
                "terminal_id": registration.terminal.code,
                "village_code": registration.terminal.village_id,
                "broker": f"127.0.0.1:{port}",
                "username": registration.terminal.code,
                "password": registration.password,
                "trust_path": str(trust),
                "cache_dir": str(cache),
                "sink": {"type": "file", "path": "played.jsonl", "realtime": False},
            }
        )
    )
    program = Path(sys.executable).parent / "ruralcast-terminal"
    process = subprocess.Popen(
        [str(program), "agent", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, cache / "played.jsonl"


def test_a_drill_travels_from_approval_to_loudspeakers_and_back_as_receipts(
    broker: Broker,
    tmp_path: Path,
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    dashizi: Region,
    liziyuan: Region,
    congjiang: Region,
) -> None:
    key = signing_key_generate(actor=None)
    agent_terminal = terminal_register(actor=None, village=dashizi)
    simulated = [terminal_register(actor=None, village=dashizi), terminal_register(actor=None, village=liziyuan)]
    outside = terminal_register(actor=None, village=Region.objects.filter(parent__parent=congjiang).order_by("code")[0])
    broker_files_write()
    broker.start()
    trust = tmp_path / "trust.json"
    trust.write_bytes(trust_list_build().to_json())

    ingest = IngestWorker()
    ingest.run(deadline=time.monotonic() + 0.5)  # open its persistent session before anything is sent
    agent, played = _agent(agent_terminal, port=broker.port, trust=trust, folder=tmp_path)
    passwords = tmp_path / "simulated.passwords"
    passwords.write_text("".join(f"{r.terminal.code}:{r.password}\n" for r in [*simulated, outside]))
    program = Path(sys.executable).parent / "ruralcast-terminal"
    simulator = subprocess.Popen(
        [str(program), "simulate", "--count", "3", "--region", "520000000000", "--broker", f"127.0.0.1:{broker.port}",
         "--processes", "1", "--password-file", str(passwords), "--trust", str(trust), "--duration", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None
        assert '"ready"' in simulator.stdout.readline()
        time.sleep(1.0)  # the agent subscribes too

        now = timezone.now()
        fields = AlertFields(
            status=Status.EXERCISE, event_code="11B03", severity=2, title="暴雨橙色预警演练",
            text="14时至20时有大到暴雨，请注意防范。", onset=now, expires=now + timedelta(hours=1), targets=[guzhou],
        )  # fmt: skip
        alert = alert_submit(
            actor=county_station_operator,
            alert=alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields),
        )
        assert alert.audio_sha256  # spoken by espeak-ng before the approver sees it
        alert_approve(
            approver=county_alert_approver,
            alert=alert,
            confirm_status=Status.EXERCISE,
            version=content_version(alert),
        )

        report = dispatch_pending_once()
        assert report.published == 1
        alert.refresh_from_db()
        assert alert.state == State.DISPATCHED
        # The spoken audio travels raw after the envelope, named by its signed hash (protocols.md §3).
        sent = base64.b64decode(OutboxMessage.objects.get(key=alert.ebm_id).messages[0]["payload_b64"])
        envelope, attachment = message_split(sent)
        signed = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        audio, preamble = signed["audio"], signed["preamble"]
        assert (audio["attached"], audio["inline"]) == (True, None)
        with default_storage.open(alert.audio_name, "rb") as stored:
            assert attachment == stored.read()
        # The audio is not base64-encoded into the signed JSON; only the short drill preamble is.
        assert len(envelope) - len(preamble["inline"]) * 4 // 3 < 4096
        assert hashlib.sha256(base64.b64decode(preamble["inline"])).hexdigest() == preamble["sha256"]
        assert signing_serial(alert=alert) == key.serial  # named on the proof of broadcast

        in_target = [agent_terminal, *simulated]
        expected = 3 * len(in_target)  # received, started, finished
        ingest.run(
            until=lambda: Receipt.objects.filter(alert=alert).count() >= expected, deadline=time.monotonic() + 30
        )
    finally:
        simulator.terminate()
        agent.terminate()
        simulator.wait(10)
        agent.wait(10)

    events = set(Receipt.objects.filter(alert=alert).values_list("terminal_code", "event"))
    for registration in in_target:
        for event in ("received", "started", "finished"):
            assert (registration.terminal.code, event) in events
    assert not Receipt.objects.filter(alert=alert, terminal_code=outside.terminal.code).exists()

    status = broadcast_status(alert=alert)
    assert (status.totals.targeted, status.totals.played, status.totals.silent) == (3, 3, 0)
    assert silent_terminals(alert=alert) == []
    assert {row.outcome for row in proof_rows(alert=alert)} == {"played"}

    playback = [json.loads(line) for line in played.read_text().splitlines()]
    assert [entry["event"] for entry in playback][:2] == ["preamble", "start"]  # a drill is announced as one


def test_a_terminal_outside_the_target_is_told_apart_from_a_silent_one(
    county_station_operator: User, county_alert_approver: User, rongjiang: Region, guzhou: Region, dashizi: Region
) -> None:
    """Without receipts every targeted terminal counts as silent and is listed (the county can chase them)."""
    terminal = terminal_register(actor=None, village=dashizi).terminal
    now = timezone.now()
    alert = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=AlertFields(
            status=Status.TEST,
            event_code="00000",
            severity=4,
            title="测试",
            text="测试",
            onset=now,
            expires=now + timedelta(hours=1),
            targets=[guzhou],
        ),
    )
    assert isinstance(alert, Alert)
    assert [t.code for t in silent_terminals(alert=alert)] == [terminal.code]
    assert broadcast_status(alert=alert).totals.silent == 1


class AgentThread:
    """The reference terminal agent (`ruralcast_terminal.agent.Agent`) on an event loop of its own,
    as a device runs it, beside the platform's code in this process."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="agent", daemon=True)
        self.agent: Agent | None = None

    def __enter__(self) -> "AgentThread":
        self.thread.start()

        async def start() -> Agent:
            agent = Agent(self.config)
            await agent.start()
            await agent.client.wait_connected(10)
            return agent

        self.agent = asyncio.run_coroutine_threadsafe(start(), self.loop).result(20)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.agent is not None:
            asyncio.run_coroutine_threadsafe(self.agent.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def sent(self) -> list[tuple[str, str, str]]:
        """(ebm id, event, reason) of every receipt the agent sent."""
        assert self.agent is not None
        return list(self.agent.receipts)

    def wait_for(self, receipt: tuple[str, str], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if receipt in {(ebm_id, event) for ebm_id, event, _reason in self.sent()}:
                return True
            time.sleep(0.05)
        return False


def _send(alert: Alert, approver: User) -> Alert:
    """Approve what the approver sees and let the dispatcher publish it (its own connection)."""
    alert_approve(approver=approver, alert=alert, confirm_status=alert.status, version=content_version(alert))
    assert dispatch_pending_once().published == 1
    alert.refresh_from_db()
    assert alert.state == State.DISPATCHED
    return alert


def test_a_cancel_stops_an_update_that_is_playing_on_the_real_agent(
    broker: Broker,
    tmp_path: Path,
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    dashizi: Region,
) -> None:
    """Alert → Update (playing) → Cancel: the Cancel names the Update too, and the agent stops it."""
    signing_key_generate(actor=None)
    registration = terminal_register(actor=None, village=dashizi)
    broker_files_write()
    broker.start()
    ingest = IngestWorker()
    ingest.run(deadline=time.monotonic() + 0.5)  # open its persistent session before anything is sent
    config = AgentConfig.from_dict(
        {
            "terminal_id": registration.terminal.code,
            "village_code": dashizi.code,
            "broker": f"127.0.0.1:{broker.port}",
            "username": registration.terminal.code,
            "password": registration.password,
            "trust": trust_list_build().to_list(),
            "cache_dir": str(tmp_path / "agent"),
            "sink": {"type": "file", "path": "played.jsonl", "realtime": True},
            "status_interval": 0,
            "reconnect_base": 0.1,
            "reconnect_cap": 0.5,
        }
    )
    now = timezone.now()
    fields = AlertFields(
        status=Status.EXERCISE, event_code="11B03", severity=2, title="暴雨橙色预警演练",
        text="14时至20时有大到暴雨。", onset=now, expires=now + timedelta(hours=1), targets=[guzhou],
    )  # fmt: skip
    with AgentThread(config) as terminal:
        original = _send(
            alert_submit(
                actor=county_station_operator,
                alert=alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields),
            ),
            county_alert_approver,
        )
        assert terminal.wait_for((original.ebm_id, "received"))

        update = alert_prepare_update(actor=county_station_operator, alert=original)
        fields.text = "雨势加大，请立即转移。"  # short: its audio travels attached (≤ 64 KB)
        fields.repeat, fields.expires = 6, update.expires  # long enough to be cancelled while it plays
        alert_edit(actor=county_station_operator, alert=update, fields=fields)
        update = _send(alert_submit(actor=county_station_operator, alert=update), county_alert_approver)
        assert terminal.wait_for((update.ebm_id, "started")), terminal.sent()

        cancel = alert_cancel(actor=county_station_operator, alert=original)  # from the original's page
        cancel = _send(cancel, county_alert_approver)
        assert terminal.wait_for((update.ebm_id, "cancelled"), timeout=20), terminal.sent()
        sent = terminal.sent()
        ingest.run(
            until=lambda: Receipt.objects.filter(alert=update, event="cancelled").exists(),
            deadline=time.monotonic() + 15,
        )

    assert (update.ebm_id, "finished", "") not in sent, "the update stopped, it did not play to its end"
    assert (original.ebm_id, "cancelled", "superseded") in sent, "the update replaced the original"
    assert (cancel.ebm_id, "received", "") in sent
    status = broadcast_status(alert=update)
    assert (status.totals.cancelled, status.totals.finished) == (1, 0), "cancelled is not finished"
    original.refresh_from_db()
    update.refresh_from_db()
    assert (original.state, update.state) == (State.UPDATED, State.CANCELLED)
