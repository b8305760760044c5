"""Revoke the active key with rotation → the real agent adopts the hand-over → alerts signed by the
successor play (docs/protocols.md §6), with mosquitto, the dispatcher and the reference agent."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from ruralcast_terminal.agent import AgentConfig

from ruralcast.accounts.models import User
from ruralcast.alerts.models import Status
from ruralcast.alerts.services import AlertFields, alert_create, alert_submit
from ruralcast.alerts.tests.test_end_to_end import AgentThread, _send, broker  # noqa: F401 — fixture
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.tests.conftest import Broker, mqtt_settings  # noqa: F401 — fixtures
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import signing_key_active, trust_list_build
from ruralcast.signing.services import signing_key_generate, signing_key_revoke
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_revoke_with_rotate_hands_over_to_a_successor_the_agent_did_not_know(
    broker: Broker,  # noqa: F811
    tmp_path: Path,
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
    dashizi: Region,
) -> None:
    compromised = signing_key_generate(actor=None)
    registration = terminal_register(actor=None, village=dashizi)
    broker_files_write()
    broker.start()
    config = AgentConfig.from_dict(
        {
            "terminal_id": registration.terminal.code,
            "village_code": dashizi.code,
            "broker": f"127.0.0.1:{broker.port}",
            "username": registration.terminal.code,
            "password": registration.password,
            "trust": trust_list_build().to_list(),  # provisioned with the first key only
            "cache_dir": str(tmp_path / "agent"),
            "sink": {"type": "file", "path": "played.jsonl", "realtime": False},
            "status_interval": 0,
            "reconnect_base": 0.1,
            "reconnect_cap": 0.5,
        }
    )
    with AgentThread(config) as terminal:
        agent = terminal.agent
        assert agent is not None
        signing_key_revoke(actor=None, serial=compromised.serial, reason="stolen laptop", rotate=True)
        successor = signing_key_active()
        assert successor.serial != compromised.serial and agent.trust.get(successor.serial) is None
        assert dispatch_pending_once().published == 1  # the hand-over, signed before the key was destroyed
        deadline = time.monotonic() + 15
        while agent.trust_version == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.trust_version > 0, "the agent adopted the cross-signed list"
        assert agent.trust.get(compromised.serial).revoked  # type: ignore[union-attr]

        now = timezone.now()
        fields = AlertFields(
            status=Status.ACTUAL, event_code="11B03", severity=2, title="暴雨橙色预警",
            text="请注意防范。", onset=now, expires=now + timedelta(hours=1), targets=[guzhou],
        )  # fmt: skip
        alert = _send(
            alert_submit(
                actor=county_station_operator,
                alert=alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields),
            ),
            county_alert_approver,
        )
        assert terminal.wait_for((alert.ebm_id, "finished")), terminal.sent()
