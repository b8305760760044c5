"""End to end with the real agent process and the real broker: a firmware command whose manifest
was signed for the alert purpose is refused; one approved by a second person, signed by the
firmware key, is downloaded from the platform itself and installed (issue 12 item 8)."""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ruralcast_terminal.protocol import seal_with

from ruralcast.accounts.roles import Role
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.models import OutboxMessage, OutboxState
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.regions.models import Region
from ruralcast.signing.keystore import keystore_get
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.commands import OUTBOX_COMMAND, command_send
from ruralcast.terminals.firmware.services import firmware_approve, firmware_upload, manifest_payload
from ruralcast.terminals.models import AckState, CommandTarget, FirmwareRelease, TerminalState
from ruralcast.terminals.provisioning import provisioning_document
from ruralcast.terminals.services import TerminalDetails, terminal_credentials_issue, terminal_register

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("english")]

MODEL = "RC-IP-100"


def _answer(ingest: IngestWorker, key: str, code: str) -> CommandTarget:
    def answered() -> bool:
        return CommandTarget.objects.filter(command__key=key, terminal_code=code).exclude(state="pending").exists()

    # The command goes out (beside it the platform may answer the agent's time question, issue 12.7).
    assert dispatch_pending_once().published >= 1
    assert OutboxMessage.objects.filter(kind=OUTBOX_COMMAND, key=key, state=OutboxState.PUBLISHED).exists()
    ingest.run(until=answered, deadline=time.monotonic() + 30)
    return CommandTarget.objects.get(command__key=key, terminal_code=code)


def _log(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def test_the_real_agent_refuses_a_manifest_signed_for_alerts_and_installs_an_approved_release(
    broker: Broker, live_server: Any, settings: Any, make_user: Any, guzhou: Region, dashizi: Region, tmp_path: Path
) -> None:
    settings.RURALCAST_PUBLIC_URL = live_server.url  # the platform itself serves the file
    alerts = signing_key_generate(actor=None, alg="Ed25519")
    signing_key_generate(actor=None, alg="Ed25519", purpose=SigningKey.Purpose.FIRMWARE)  # before provisioning
    uploader = make_user(role=Role.FIRMWARE_MANAGER, region=guzhou, username="fw-uploader")
    approver = make_user(role=Role.FIRMWARE_MANAGER, region=guzhou, username="fw-approver")
    terminal = terminal_register(
        actor=None, village=dashizi, details=TerminalDetails(model=MODEL), issue_credentials=False
    ).terminal
    document = provisioning_document(registration=terminal_credentials_issue(actor=None, terminal=terminal))
    assert document["model"] == MODEL and {k["usage"][0] for k in document["trust"]} == {"broadcast", "firmware"}
    broker.sync()
    assert dispatch_pending_once().published == 1  # the trust list naming the firmware key, retained
    ingest = IngestWorker(client_id="test-ingest-firmware", batch_seconds=0.05)
    ingest.run(deadline=time.monotonic() + 0.5)  # its persistent session exists before anything is sent
    installed = tmp_path / "installed.bin"
    installer = [sys.executable, "-c", "import shutil, sys; shutil.copy(sys.argv[2], sys.argv[1])", str(installed)]
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({**document, "cache_dir": str(tmp_path / "cache"), "firmware_command": installer}))
    program = str(Path(sys.executable).parent / "ruralcast-terminal")
    log = tmp_path / "agent.log"
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        agent = subprocess.Popen([program, "agent", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        # The agent reports "online" after its SUBACK: from then on it receives the commands.
        ingest.run(
            until=lambda: TerminalState.objects.filter(terminal=terminal, online=True).exists(),
            deadline=time.monotonic() + 30,
        )
        assert TerminalState.objects.filter(terminal=terminal, online=True).exists(), _log(log)

        # 1. A manifest signed by the alert (broadcast) key, as the platform did before key usage.
        forged = firmware_approve(
            release=firmware_upload(
                actor=uploader, data=b"\x7fELF rogue" * 100, version="6.6.6", device_models=[MODEL], regions=[guzhou]
            ),
            approver=approver,
        )
        store = keystore_get()
        envelope = seal_with(
            manifest_payload(forged),
            alg=alerts.alg,
            serial=alerts.serial,
            sign=lambda data: store.sign(serial=alerts.serial, alg=alerts.alg, data=data),
        )
        FirmwareRelease.objects.filter(pk=forged.pk).update(manifest=base64.b64encode(envelope).decode())
        bad = command_send(actor=uploader, kind="firmware", params={"release": forged.pk}, regions=[guzhou])
        refused = _answer(ingest, bad.key, terminal.code)
        assert refused.state == AckState.REJECTED and "key_usage" in refused.detail, _log(log)
        assert not installed.exists()

        # 2. The same path, signed by the firmware key at approval: downloaded, checked, installed.
        image = b"\x7fELF firmware 2.0.2 " * 200
        good = firmware_approve(
            release=firmware_upload(
                actor=uploader, data=image, version="2.0.2", device_models=[MODEL], regions=[guzhou]
            ),
            approver=approver,
        )
        sent = command_send(actor=uploader, kind="firmware", params={"release": good.pk}, regions=[guzhou])
        done = _answer(ingest, sent.key, terminal.code)
        assert (done.state, done.detail) == (AckState.DONE, "installed 2.0.2"), _log(log)
        assert installed.read_bytes() == image
    finally:
        agent.terminate()
        agent.wait(10)
