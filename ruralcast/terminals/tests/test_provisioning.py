"""Provisioning against a real mosquitto: the file the platform issues is what the device installs
with one command; the broker's ACL confines each device to its own topics; revocation cuts it off."""

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from ruralcast_terminal.cli import main as terminal_cli
from ruralcast_terminal.provision import document_parse

from ruralcast.accounts.models import User
from ruralcast.messaging.client import Publication
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.topics import region_topic, terminal_topic, uplink_topic
from ruralcast.regions.models import Region
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.models import EventKind, Terminal, TerminalEvent, TerminalState
from ruralcast.terminals.provisioning import provisioning_document, provisioning_qr_text
from ruralcast.terminals.services import terminal_credentials_issue, terminal_register, terminal_revoke

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _provision(county_station_operator: User, village: Region) -> dict[str, Any]:
    terminal = terminal_register(actor=county_station_operator, village=village, issue_credentials=False).terminal
    return provisioning_document(
        registration=terminal_credentials_issue(actor=county_station_operator, terminal=terminal)
    )


def test_the_provisioning_file_has_what_the_agent_needs_and_its_qr_text_says_the_same(
    mqtt_settings: dict[str, Any], county_station_operator: User, dashizi: Region
) -> None:
    signing_key_generate(actor=None)
    document = _provision(county_station_operator, dashizi)
    assert document["terminal_id"] == document["username"] == f"6{dashizi.code}0314010401"
    assert document["broker"] == f"127.0.0.1:{mqtt_settings['PORT']}"
    assert document["trust"] and document["password"]
    assert document_parse(provisioning_qr_text(document)) == document
    assert document_parse(json.dumps(document)) == document
    with pytest.raises(ValueError):
        document_parse('{"format": "something else"}')


def test_one_command_installs_the_file_and_checks_it_then_revocation_cuts_the_terminal_off(
    broker: Broker, county_station_operator: User, dashizi: Region, tmp_path: Path, capsys: Any
) -> None:
    document = _provision(county_station_operator, dashizi)
    broker.sync()
    given = tmp_path / "from-the-platform.json"
    given.write_text(json.dumps(document))
    device = tmp_path / "device"
    assert terminal_cli(["provision", str(given), "--dir", str(device)]) == 0
    assert "accepts the credentials" in capsys.readouterr().out
    installed = device / "provisioning.json"
    assert json.loads(installed.read_text()) == document
    assert installed.stat().st_mode & 0o777 == 0o600

    terminal_revoke(actor=county_station_operator, terminal=_terminal(document))
    broker.sync()
    assert terminal_cli(["provision", str(given), "--dir", str(device)]) == 3
    assert "refused" in capsys.readouterr().err


def _terminal(document: dict[str, Any]) -> Any:
    return Terminal.objects.get(code=document["terminal_id"])


def test_issuing_a_new_file_retires_the_old_password(
    broker: Broker, county_station_operator: User, dashizi: Region, tmp_path: Path
) -> None:
    old = _provision(county_station_operator, dashizi)
    new = provisioning_document(
        registration=terminal_credentials_issue(actor=county_station_operator, terminal=_terminal(old))
    )
    broker.sync()
    for document, expected in ((old, 3), (new, 0)):
        path = tmp_path / "p.json"
        path.write_text(json.dumps(document))
        assert terminal_cli(["provision", str(path), "--dir", str(tmp_path / "d")]) == expected


def test_a_terminal_reads_only_its_villages_region_topics_and_writes_only_its_own_uplinks(
    broker: Broker, county_station_operator: User, dashizi: Region, liziyuan: Region, listen: Any
) -> None:
    me = _provision(county_station_operator, dashizi)
    other = _provision(county_station_operator, liziyuan)
    broker.sync()
    own_regions = ["000000000000", "520000000000", "522600000000", "522632000000", "522632100000", dashizi.code]
    foreign = [liziyuan.code, "522633000000", "522632101000"]  # the neighbouring village, county, township
    _link, inbox = listen(
        [f"rc/v1/down/r/{code}/+" for code in own_regions + foreign] + [terminal_topic(other["terminal_id"])],
        username=me["username"],
        password=me["password"],
        client_id=me["terminal_id"],
    )
    platform, platform_inbox = listen(["rc/v1/up/#"])
    ebm = "4" * 35
    platform.publish_all(
        [Publication(region_topic(code, ebm), code.encode()) for code in foreign + own_regions]
        + [Publication(terminal_topic(other["terminal_id"]), b"theirs")]
    )
    received = inbox.wait(len(own_regions))
    assert sorted(m.payload.decode() for m in received) == sorted(own_regions)
    assert not wait_for(lambda: len(inbox.messages) > len(own_regions), 0.3)

    sender, _ = listen([], username=me["username"], password=me["password"], client_id=me["terminal_id"] + "-2")
    sender.publish_all([Publication(uplink_topic(other["terminal_id"], "status"), b'{"online": false}')])
    sender.publish_all([Publication(uplink_topic(me["terminal_id"], "status"), b'{"online": true}')])
    assert [m.topic for m in platform_inbox.wait(1)] == [uplink_topic(me["terminal_id"], "status")]
    assert not wait_for(lambda: len(platform_inbox.messages) > 1, 0.3)


def test_the_console_issues_a_file_once_and_a_zip_for_many(
    client: Client, mqtt_settings: dict[str, Any], county_station_operator: User, dashizi: Region, liziyuan: Region
) -> None:
    for village in (dashizi, liziyuan):
        terminal_register(actor=county_station_operator, village=village, issue_credentials=False)
    client.force_login(county_station_operator)
    code = f"6{dashizi.code}0314010401"
    page = client.post(f"/terminals/{code}/provision/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "data:application/json;base64," in page.content.decode() and "<svg" in page.content.decode()
    assert "<svg" in client.get(f"/terminals/{code}/label/").content.decode()
    archive = client.post("/terminals/provision.zip", {"status": "unprovisioned"})
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == [f"6{liziyuan.code}0314010401.json", "passwords.txt"]  # the one still unprovisioned


def test_the_api_returns_the_provisioning_document(
    client: Client, mqtt_settings: dict[str, Any], county_station_operator: User, township_viewer: User, dashizi: Region
) -> None:
    code = terminal_register(actor=county_station_operator, village=dashizi, issue_credentials=False).terminal.code
    client.force_login(county_station_operator)
    response = client.post(f"/api/v1/terminals/{code}/provision")
    assert response.status_code == 200 and response.json()["username"] == code
    assert response["Cache-Control"] == "no-store"  # it carries the password, like the console's page
    assert response.json()["freshness_seconds"] == 86400
    client.force_login(township_viewer)
    assert client.post(f"/api/v1/terminals/{code}/provision").status_code == 404


def test_a_provisioned_agent_reports_online_and_its_last_will_marks_it_offline_when_it_dies(
    broker: Broker, county_station_operator: User, dashizi: Region, tmp_path: Path
) -> None:
    """The real agent process, the real broker, the real ingest worker: killed without a word,
    the terminal is marked offline by the will the broker publishes for it."""
    document = _provision(county_station_operator, dashizi)
    broker.sync()
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**document, "keepalive": 5}))
    worker = IngestWorker(client_id="test-ingest-status", batch_seconds=0.05)
    worker.link.start(wait=5.0)
    code = document["terminal_id"]
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "ruralcast-terminal"), "agent", "--config", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def state() -> TerminalState:
            return TerminalState.objects.get(terminal_id=code)

        worker.run(until=lambda: state().online, deadline=time.monotonic() + 15)
        assert state().online and state().volume == 80 and state().storage_free_mb is not None
        agent.kill()  # no DISCONNECT: the broker publishes the will
        agent.wait(5)
        again = IngestWorker(client_id="test-ingest-status", batch_seconds=0.05)
        again.run(until=lambda: not state().online, deadline=time.monotonic() + 15)
        assert not state().online
        last = TerminalEvent.objects.filter(terminal_code=code).latest("id")
        assert (last.kind, last.detail) == (EventKind.OFFLINE, "will")
    finally:
        if agent.poll() is None:
            agent.kill()
