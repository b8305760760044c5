"""Status reports and remote commands on the terminal side (docs/protocols.md §7, §8)."""

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ruralcast_terminal.agent import Agent, AgentConfig
from ruralcast_terminal.commands import NotForMe, Refused, ack_bytes, command_check
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.provision import document_parse
from ruralcast_terminal.status import StatusProbe

VILLAGE = "522632100001"
ME = f"6{VILLAGE}0314010401"
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def command(**fields: object) -> dict[str, object]:
    return {
        "kind": "command",
        "id": "abc123",
        "command": "volume",
        "params": {"volume": 50},
        "sent": NOW.isoformat(),
        "expires": (NOW + timedelta(minutes=2)).isoformat(),
        "areas": ["522632100000"],
        **fields,
    }


def test_a_command_for_an_ancestor_region_or_this_terminal_is_accepted() -> None:
    assert command_check(command(), terminal_id=ME, village_code=VILLAGE, now=NOW) == (
        "abc123",
        "volume",
        {"volume": 50},
    )
    named = command(areas=None, terminals=[ME])
    assert command_check(named, terminal_id=ME, village_code=VILLAGE, now=NOW)[0] == "abc123"


@pytest.mark.parametrize(
    "fields",
    [{"areas": ["522633000000"]}, {"areas": None, "terminals": ["other"]}, {"areas": None}, {"id": ""}],
)
def test_a_command_for_others_gets_no_answer(fields: dict[str, object]) -> None:
    with pytest.raises(NotForMe):
        command_check(command(**fields), terminal_id=ME, village_code=VILLAGE, now=NOW)


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"expires": (NOW - timedelta(seconds=1)).isoformat()}, "expired"), ({"command": "self_destruct"}, "unknown"),
     ({"expires": "2026-11-27T14:00:00"}, "offset")],
)  # fmt: skip
def test_an_expired_or_unknown_command_is_refused_with_the_reason(fields: dict[str, object], why: str) -> None:
    with pytest.raises(Refused, match=why):
        command_check(command(**fields), terminal_id=ME, village_code=VILLAGE, now=NOW)


def test_an_answer_is_compact_json() -> None:
    body = json.loads(ack_bytes(terminal=ME, command_id="abc123", result="done", detail="x" * 300, at="now"))
    assert body == {"terminal": ME, "id": "abc123", "result": "done", "detail": "x" * 200, "at": "now"}


def test_the_probe_reads_the_device_and_merges_what_the_vendor_command_prints(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(
        'import json; print(json.dumps({"amplifier": "fault", "signal_dbm": -80, "volume": True, "bogus": 1}))'
    )
    readings = StatusProbe(storage=tmp_path, command=[sys.executable, str(script)]).read()
    assert readings["amplifier"] == "fault" and readings["signal_dbm"] == -80
    assert "bogus" not in readings and "volume" not in readings  # unknown member, wrong type
    assert readings["storage_free_mb"] > 0 and readings["uptime_s"] >= 0
    broken = StatusProbe(storage=tmp_path, command=[sys.executable, "-c", "print('not json')"]).read()
    assert "amplifier" not in broken


def test_a_provisioning_document_must_say_what_it_is() -> None:
    with pytest.raises(ValueError, match="format"):
        document_parse(json.dumps({"terminal_id": ME}))
    with pytest.raises(ValueError, match="QR"):
        document_parse("RCP1:!!!")
    with pytest.raises(ValueError, match="version"):
        document_parse(json.dumps({"format": "ruralcast-provisioning", "v": 2}))


def test_the_status_says_the_volume_the_agent_was_commanded_not_an_older_vendor_reading(tmp_path: Path) -> None:
    """Issue 16: a volume command (60) was acknowledged and the status went on saying 80."""
    script = tmp_path / "probe.py"
    script.write_text('import json; print(json.dumps({"volume": 80, "amplifier": "ok"}))')
    config = AgentConfig(
        terminal_id=ME, village_code=VILLAGE, trust=TrustList([]), cache_dir=tmp_path / "cache",
        broker_host="127.0.0.1", broker_port=1, probe=[sys.executable, str(script)],
    )  # fmt: skip
    agent = Agent(config)
    agent.state.volume = 60  # as the router leaves it after the command
    report = json.loads(agent.status_report())
    assert report["volume"] == 60 and report["amplifier"] == "ok"
