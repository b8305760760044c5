"""The conformance kit against the reference agent: a real mosquitto, the real agent, the kit's own
command line (`ruralcast-terminal conformance … --json`) in a process of its own, as a vendor runs it.

The agent is provisioned only with the trust list `conformance-key` wrote, exactly what the kit's
documentation tells a vendor to do; every rule must pass. Then the kit against a terminal that is not
there: every rule fails, and the exit status says so.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from ruralcast_terminal import cli
from ruralcast_terminal.conformance import KitKey, silent_mp3
from ruralcast_terminal.conformance_rules import RULES
from ruralcast_terminal.protocol import TrustList
from test_agent import config_for, running

from conftest import HOME_TERMINAL

pytestmark = pytest.mark.anyio


async def kit(*arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ruralcast_terminal.cli",
        "conformance",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_reference_agent_passes_every_rule_of_the_kit(mosquitto, tmp_path: Path):
    assert cli.main(["conformance-key", str(tmp_path / "kit")]) == 0
    trust = TrustList.from_json((tmp_path / "kit" / "trust.json").read_bytes())
    key_file = tmp_path / "kit" / "platform-key.json"
    key = KitKey.load(key_file)
    assert trust.get(key.serial) == key.trusted() and oct(key_file.stat().st_mode)[-3:] == "600"
    async with running(config_for(mosquitto, tmp_path, trust, terminal_id=HOME_TERMINAL)) as agent:
        code, out, err = await kit(
            "--broker", mosquitto.address, "--terminal-id", HOME_TERMINAL, "--platform-key", str(key_file),
            "--quiet", "1.5", "--json",
        )  # fmt: skip
        report = json.loads(out)
        failed = [rule for rule in report["rules"] if not rule["ok"]]
        assert failed == [] and code == 0, (failed, err)
        assert [rule["rule"] for rule in report["rules"]] == ["online", *(name for name, _ in RULES)]
        assert report["passed"] == len(RULES) + 1
        assert agent.trust_version > 0 and len(agent.trust) == 1  # the rotation was undone


async def test_a_terminal_that_is_not_there_fails_every_rule_and_the_exit_status_says_so(mosquitto, tmp_path: Path):
    cli.main(["conformance-key", str(tmp_path / "kit")])
    code, out, _ = await kit(
        "--broker", mosquitto.address, "--terminal-id", HOME_TERMINAL,
        "--platform-key", str(tmp_path / "kit" / "platform-key.json"), "--timeout", "0.5",
    )  # fmt: skip
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("FAIL  online") and len(lines) == len(RULES) + 2
    assert lines[-1] == f"0 passed, {len(RULES) + 1} failed"


async def test_bad_arguments_are_exit_status_2(tmp_path: Path):
    code, _, err = await kit("--broker", "127.0.0.1:1", "--terminal-id", HOME_TERMINAL, "--platform-key", "nope.json")
    assert code == 2 and "nope.json" in err


def test_the_kits_audio_is_mp3_frames_of_the_length_it_claims():
    audio = silent_mp3(1.0)
    assert len(audio) % 144 == 0 and audio[:2] == b"\xff\xf3"
    assert abs(len(audio) / 144 * 0.036 - 1.0) < 0.036
