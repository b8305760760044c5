"""Remote commands: one signed message per region topic, acknowledgements from real terminals, timeouts."""

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.ingest import IngestWorker, ingest_batch
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.commands import command_counts, command_send, commands_time_out
from ruralcast.terminals.models import AckState, CommandTarget, TerminalState
from ruralcast.terminals.provisioning import provisioning_document
from ruralcast.terminals.services import terminal_credentials_issue, terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def ack(code: str, key: str, result: str = "done", detail: str = "") -> tuple[str, bytes, Any]:
    body = {"terminal": code, "id": key, "result": result, "detail": detail, "at": timezone.now().isoformat()}
    return uplink_topic(code, "ack"), json.dumps(body).encode(), timezone.now()


def test_a_bulk_command_targets_the_subtree_and_travels_once_per_region(
    county_station_operator: User, guzhou: Region, dashizi: Region, liziyuan: Region, rongjiang: Region
) -> None:
    inside = [terminal_register(actor=None, village=v).terminal.code for v in (dashizi, dashizi, liziyuan)]
    terminal_register(actor=None, village=Region.objects.get(code="522632101001"))  # 忠诚镇: outside
    command = command_send(
        actor=county_station_operator, kind="volume", params={"volume": 60}, regions=[guzhou, dashizi]
    )
    assert command.regions == [guzhou.code]  # the village lies inside the township: one message
    assert sorted(CommandTarget.objects.filter(command=command).values_list("terminal_code", flat=True)) == sorted(
        inside
    )
    assert OutboxMessage.objects.filter(kind="terminal.command", key=command.key).exists()
    assert command_counts(command).waiting == 3


def test_commands_are_checked_and_scoped(township_station_operator: User, rongjiang: Region, guzhou: Region) -> None:
    with pytest.raises(PermissionDenied):
        command_send(actor=township_station_operator, kind="reboot", regions=[rongjiang])
    with pytest.raises(ValidationError) as caught:
        command_send(actor=township_station_operator, kind="volume", params={"volume": 150}, regions=[guzhou])
    assert "params.volume" in caught.value.fields
    with pytest.raises(ValidationError):
        command_send(actor=township_station_operator, kind="self_destruct", regions=[guzhou])


def test_answers_are_written_once_and_the_rest_time_out(
    county_station_operator: User, guzhou: Region, dashizi: Region, liziyuan: Region
) -> None:
    codes = [terminal_register(actor=None, village=v).terminal.code for v in (dashizi, liziyuan)]
    command = command_send(actor=county_station_operator, kind="reboot", regions=[guzhou], timeout_s=30)
    ingest_batch([ack(codes[0], command.key), ack(codes[0], command.key, "failed")])  # a late second answer
    counts = command_counts(command)
    assert (counts.done, counts.waiting) == (1, 1)
    assert commands_time_out() == 0  # not yet due
    assert commands_time_out(now=timezone.now() + timedelta(seconds=31)) == 1
    states = dict(CommandTarget.objects.filter(command=command).values_list("terminal_code", "state"))
    assert states == {codes[0]: AckState.DONE, codes[1]: AckState.TIMEOUT}
    ingest_batch([ack(codes[1], command.key)])  # too late: stays timed out
    assert command_counts(command).timeout == 1


def test_real_terminals_acknowledge_a_signed_command_and_a_silent_one_times_out(
    broker: Broker, county_station_operator: User, guzhou: Region, dashizi: Region, liziyuan: Region, tmp_path: Path
) -> None:
    """The dispatcher signs and publishes once per region; a real agent and a simulated terminal
    verify it, act and answer; a terminal that is not running times out."""
    signing_key_generate(actor=None)
    documents = []
    for village in (dashizi, liziyuan, liziyuan):
        terminal = terminal_register(actor=None, village=village, issue_credentials=False).terminal
        documents.append(provisioning_document(registration=terminal_credentials_issue(actor=None, terminal=terminal)))
    agent_doc, simulated_doc, absent_doc = documents
    broker.sync()
    ingest = IngestWorker(client_id="test-ingest-acks", batch_seconds=0.05)
    ingest.run(deadline=time.monotonic() + 0.5)  # its persistent session exists before anything is sent
    program = str(Path(sys.executable).parent / "ruralcast-terminal")
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({**agent_doc, "cache_dir": str(tmp_path / "cache")}))
    agent = subprocess.Popen(
        [program, "agent", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    passwords = tmp_path / "sim.passwords"
    passwords.write_text(f"{simulated_doc['terminal_id']}:{simulated_doc['password']}\n")
    trust = tmp_path / "trust.json"
    trust.write_bytes(trust_list_build().to_json())
    simulator = subprocess.Popen(
        [program, "simulate", "--count", "1", "--region", guzhou.code, "--broker", f"127.0.0.1:{broker.port}",
         "--processes", "1", "--password-file", str(passwords), "--trust", str(trust), "--duration", "20",
         "--status-interval", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None and '"ready"' in simulator.stdout.readline()
        time.sleep(1.0)  # the agent is connected and subscribed too
        command = command_send(
            actor=county_station_operator, kind="volume", params={"volume": 55}, regions=[guzhou], timeout_s=10
        )
        assert dispatch_pending_once().published == 1
        outbox = OutboxMessage.objects.get(key=command.key)
        assert [m["topic"] for m in outbox.messages] == [f"rc/v1/down/r/{guzhou.code}/cmd-{command.key}"]
        reporting = [agent_doc["terminal_id"], simulated_doc["terminal_id"]]

        def acknowledged_and_reported() -> bool:  # the status right after the ack says the new volume
            volumes = TerminalState.objects.filter(terminal_id__in=reporting).values_list("volume", flat=True)
            return command_counts(command).done >= 2 and list(volumes) == [55, 55]

        ingest.run(until=acknowledged_and_reported, deadline=time.monotonic() + 15)
    finally:
        simulator.terminate()
        agent.terminate()
        simulator.wait(10)
        agent.wait(10)
    states = dict(CommandTarget.objects.filter(command=command).values_list("terminal_code", "state"))
    assert states[agent_doc["terminal_id"]] == states[simulated_doc["terminal_id"]] == AckState.DONE
    assert states[absent_doc["terminal_id"]] == AckState.PENDING
    assert acknowledged_and_reported(), "each terminal reports volume 55 after acknowledging it"
    assert commands_time_out(now=command.expires_at + timedelta(seconds=1)) == 1
    counts = command_counts(command)
    assert (counts.targeted, counts.done, counts.timeout) == (3, 2, 1)


def test_the_console_sends_a_command_and_shows_the_answers(
    en_client: Any, county_maintainer: User, township_viewer: User, guzhou: Region, dashizi: Region
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    en_client.force_login(county_maintainer)
    form = en_client.get("/terminals/commands/new/", {"region": guzhou.code})
    assert form.status_code == 200 and "every terminal of" in form.content.decode()
    response = en_client.post(
        f"/terminals/commands/new/?terminal={code}", {"kind": "volume", "volume": "40", "timeout_s": "60"}
    )
    assert response.status_code == 302, response.content.decode()
    page = en_client.get(response["Location"])
    assert "Waiting" in page.content.decode() and "s left to answer" in page.content.decode()
    key = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    ingest_batch([ack(code, key, "failed", "amplifier did not answer")])
    status = en_client.get(f"/terminals/commands/{key}/status/").content.decode()
    assert "amplifier did not answer" in status
    bad = en_client.post(f"/terminals/commands/new/?terminal={code}", {"kind": "volume", "timeout_s": "60"})
    assert bad.status_code == 400
    en_client.force_login(township_viewer)
    assert en_client.get("/terminals/commands/new/", {"region": guzhou.code}).status_code == 403
    assert en_client.get(f"/terminals/commands/{key}/").status_code == 200  # viewers see the answers


def status(code: str, volume: int, received: Any) -> tuple[str, bytes, Any]:
    body = {"terminal": code, "online": True, "at": received.isoformat(), "volume": volume}
    return uplink_topic(code, "status"), json.dumps(body).encode(), received


def test_the_terminal_page_says_an_acknowledged_volume_is_not_reflected_until_a_status_says_it(
    en_client: Any, county_maintainer: User, dashizi: Region
) -> None:
    """Issue 16: volume 60 acknowledged, 80 still reported 17 minutes later, and the page said nothing."""
    terminal = terminal_register(actor=None, village=dashizi).terminal
    code, page = terminal.code, f"/terminals/{terminal.code}/"
    ingest_batch([status(code, 80, timezone.now() - timedelta(minutes=1))])
    en_client.force_login(county_maintainer)
    assert "data-volume-unreflected" not in en_client.get(page).content.decode()
    command = command_send(actor=county_maintainer, kind="volume", params={"volume": 60}, terminals=[terminal])
    ingest_batch([ack(code, command.key)])
    shown = en_client.get(page).content.decode()
    assert 'data-volume-unreflected="stale"' in shown and "Not reflected yet" in shown and "volume 60" in shown
    ingest_batch([status(code, 60, timezone.now() + timedelta(seconds=1))])
    assert "data-volume-unreflected" not in en_client.get(page).content.decode()
    ingest_batch([status(code, 80, timezone.now() + timedelta(seconds=2))])  # the device went back on its own
    assert 'data-volume-unreflected="differs"' in en_client.get(page).content.decode()


def test_a_command_outside_the_viewers_regions_is_not_found_in_the_console_or_the_api(
    en_client: Any, county_maintainer: User, neighbour_county_bureau_admin: User, dashizi: Region
) -> None:
    """One scoped get for console and API (`access_command`): the console used to fetch the command
    and then check the region by hand, answering 403 where the API answered 404."""
    from ruralcast.core.errors import NotFound
    from ruralcast.terminals.selectors import access_command

    terminal_register(actor=None, village=dashizi)
    command = command_send(actor=county_maintainer, kind="reboot", regions=[dashizi])
    assert access_command(user=county_maintainer, key=command.key) == command
    with pytest.raises(NotFound):
        access_command(user=neighbour_county_bureau_admin, key=command.key)
    en_client.force_login(neighbour_county_bureau_admin)
    assert en_client.get(f"/terminals/commands/{command.key}/").status_code == 404
    assert en_client.get(f"/terminals/commands/{command.key}/status/").status_code == 404
    assert en_client.get(f"/api/v1/terminals/commands/{command.key}").status_code == 404
