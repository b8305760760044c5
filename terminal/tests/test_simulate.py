"""The simulator: who the virtual terminals are, one process's fleet in the test's own event loop, and
the command with several processes against a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from ruralcast_terminal import protocol
from ruralcast_terminal.simulate import Fleet, merge, plan_terminals, synthetic_villages, terminal_id_for

COUNTY = "522632000000"  # 榕江县


# --------------------------------------------------------------------------------------------
# Planning the fleet.


def test_made_up_villages_are_well_formed_distinct_and_below_the_region() -> None:
    for region in (COUNTY, "522632100000", "520000000000", "000000000000"):
        codes = [c for c, _ in zip(synthetic_villages(region), range(500), strict=False)]
        assert len(set(codes)) == 500
        prefix = protocol.code_prefix(region)
        for code in codes:
            assert code.startswith(prefix)
            assert protocol.code_prefix(code) == code  # a village: every level filled in


def test_terminal_ids_follow_the_platform_scheme_and_are_deterministic() -> None:
    assert terminal_id_for("522632100001", 1) == "65226321000010314010401"
    villages = ["522632100001", "522632100002", "522632101001"]
    plan = plan_terminals(count=7, region=COUNTY, villages=villages)
    assert plan == plan_terminals(count=7, region=COUNTY, villages=villages)
    assert [t.terminal_id[-2:] for t in plan] == ["01", "01", "01", "02", "02", "02", "03"]
    assert [t.village_code for t in plan[:3]] == villages
    assert all(t.terminal_id[1:13] == t.village_code for t in plan)
    assert all(t.username is None for t in plan)  # anonymous unless a prefix or password file is given
    named = plan_terminals(count=2, region=COUNTY, villages=villages, username_prefix="", password="pw")
    assert [(t.username, t.password) for t in named] == [(t.terminal_id, "pw") for t in named]


def test_villages_outside_the_region_are_left_out_and_a_village_holds_at_most_99() -> None:
    plan = plan_terminals(count=3, region="522632100000", villages=["522632100001", "522633100001"])
    assert {t.village_code for t in plan} == {"522632100001"}
    with pytest.raises(ValueError):
        plan_terminals(count=100, region="522632100001", villages=["522632100001"])


def test_a_password_file_names_the_terminals_and_their_villages(tmp_path) -> None:
    path = tmp_path / "passwords.txt"
    path.write_text("# exported by the platform\n65226321000010314010401:s3cret\n65226331000010314010401:other\n")
    [spec] = plan_terminals(count=1, region=COUNTY, password_file=path)
    assert (spec.terminal_id, spec.village_code, spec.username, spec.password) == (
        "65226321000010314010401",
        "522632100001",
        "65226321000010314010401",
        "s3cret",
    )
    with pytest.raises(ValueError):
        plan_terminals(count=2, region=COUNTY, password_file=path)  # only one is in the county


def test_statistics_of_processes_merge() -> None:
    total = merge(
        [
            {"messages": 2, "rejected": {"expired": 1}, "arrivals": {"e": [10.0, 10.5, 2]}},
            {"messages": 3, "rejected": {"expired": 2}, "arrivals": {"e": [9.9, 10.2, 3]}},
        ]
    )
    assert total == {"messages": 5, "rejected": {"expired": 3}, "arrivals": {"e": [9.9, 10.5, 5]}}


# --------------------------------------------------------------------------------------------
# One process's fleet, in the test's event loop.


@pytest.mark.anyio
async def test_a_fleet_verifies_once_and_answers_like_agents(
    mosquitto, platform_key, alert_payload, Platform, PlatformKey
):
    plan = plan_terminals(count=60, region=COUNTY)
    fleet = Fleet(plan, host=mosquitto.host, port=mosquitto.port, trust=platform_key.trust())
    fleet.start()
    async with Platform(mosquitto) as platform:
        await platform.wait_for(lambda: fleet.connected == 60)
        good = platform_key.seal(alert_payload(1))
        await platform.publish(good)
        await platform.wait_for(lambda: len(platform.receipts) == 180)
        await platform.publish(good)  # a duplicate: no receipts
        await platform.publish(PlatformKey(serial=platform_key.serial).seal(alert_payload(2)))  # forged
        await platform.wait_for(lambda: len(platform.receipts) == 240)
        await asyncio.sleep(0.2)
        assert len(platform.receipts) == 240
    stats = fleet.snapshot()
    await fleet.stop()
    by_event: dict[str, int] = {}
    for r in platform.receipts:
        by_event[r["event"]] = by_event.get(r["event"], 0) + 1
    assert by_event == {"received": 60, "started": 60, "finished": 60, "rejected": 60}
    assert len({r["terminal"] for r in platform.receipts}) == 60
    assert stats["verify_count"] == 2  # one per distinct payload, not one per terminal
    assert stats["verify_seconds"] > 0
    assert (stats["accepted"], stats["duplicates"], stats["rejected"]) == (60, 60, {"bad_signature": 60})
    assert stats["arrivals"][alert_payload(1)["ebm_id"]][2] == 60


@pytest.mark.anyio
async def test_with_real_playback_finished_follows_the_audio_length_and_a_cancel_stops_it(
    mosquitto, platform_key, alert_payload, Platform
):
    plan = plan_terminals(count=20, region=COUNTY)
    fleet = Fleet(plan, host=mosquitto.host, port=mosquitto.port, trust=platform_key.trust(), real_playback=True)
    fleet.start()
    async with Platform(mosquitto) as platform:
        await platform.wait_for(lambda: fleet.connected == 20)
        short = alert_payload(1, seconds=0.3, repeat=2)  # sounds for 0.6 s
        await platform.publish(platform_key.seal(short))
        await platform.wait_for(lambda: len(platform.receipts) == 40)  # received + started
        started_at = asyncio.get_running_loop().time()
        assert fleet.playing == 20
        await platform.wait_for(lambda: len(platform.receipts) == 60, timeout=5)
        assert asyncio.get_running_loop().time() - started_at >= 0.4
        assert fleet.playing == 0

        long = alert_payload(2, seconds=60)
        await platform.publish(platform_key.seal(long))
        await platform.wait_for(lambda: len(platform.receipts) == 100)
        cancel = alert_payload(3, msg_type="Cancel", references=[long["ebm_id"]], audio=None)
        await platform.publish(platform_key.seal(cancel))
        await platform.wait_for(lambda: len(platform.receipts) == 140)
    await fleet.stop()
    events = [(r["ebm_id"], r["event"]) for r in platform.receipts]
    assert events.count((short["ebm_id"], "finished")) == 20
    assert events.count((long["ebm_id"], "cancelled")) == 20  # stopped by the cancel, never finished
    assert (long["ebm_id"], "finished") not in events
    assert events.count((cancel["ebm_id"], "received")) == 20


@pytest.mark.anyio
async def test_virtual_terminals_check_attached_audio_with_its_message(
    mosquitto, platform_key, alert_payload, Platform
):
    plan = plan_terminals(count=10, region=COUNTY)
    fleet = Fleet(plan, host=mosquitto.host, port=mosquitto.port, trust=platform_key.trust())
    fleet.start()
    audio = b"attached audio " * 100
    good, swapped = alert_payload(1, audio=audio, attached=True), alert_payload(2, audio=audio, attached=True)
    async with Platform(mosquitto) as platform:
        await platform.wait_for(lambda: fleet.connected == 10)
        await platform.publish(protocol.message_join(platform_key.seal(good), audio))
        await platform.publish(protocol.message_join(platform_key.seal(swapped), audio[::-1]))
        await platform.wait_for(lambda: len(platform.receipts) == 50)
    await fleet.stop()
    events = {(r["ebm_id"], r["event"], r["reason"]) for r in platform.receipts}
    assert events == {
        (good["ebm_id"], "received", ""),
        (good["ebm_id"], "started", ""),
        (good["ebm_id"], "finished", ""),
        (swapped["ebm_id"], "received", ""),
        (swapped["ebm_id"], "failed", "audio_failed"),
    }


# --------------------------------------------------------------------------------------------
# The command, several processes.


@pytest.mark.anyio
async def test_the_simulator_command_fans_one_alert_out_to_200_terminals_in_2_processes(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    (tmp_path / "trust.json").write_bytes(platform_key.trust().to_json())
    report = tmp_path / "report.json"
    async with Platform(mosquitto) as platform:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "ruralcast_terminal.cli", "simulate", "--count", "200", "--processes", "2"],
            *["--region", COUNTY, "--broker", mosquitto.address, "--trust", str(tmp_path / "trust.json")],
            *["--expect-alerts", "1", "--duration", "30", "--report", str(report)],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
            assert ready["event"] == "ready"
            assert ready["connected"] == 200
            await platform.publish(platform_key.seal(alert_payload(1)))
            await platform.wait_for(lambda: len(platform.receipts) >= 600, timeout=20)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
        assert proc.returncode == 0, err.decode()
        await asyncio.sleep(0.2)
    assert len(platform.receipts) == 600
    assert {(r["event"], r["reason"]) for r in platform.receipts} == {
        ("received", ""),
        ("started", ""),
        ("finished", ""),
    }
    assert len({r["terminal"] for r in platform.receipts}) == 200
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary == json.loads(report.read_text())
    assert summary["connected"] == 200
    assert summary["processes"] == 2
    assert summary["alerts_received"] == 200
    assert summary["receipts_sent"] == 600
    assert summary["receipts_unacknowledged"] == 0
    assert summary["verify_count"] == 2  # one per process
    assert summary["verify_us"] > 0
    [fanout] = summary["fanout"].values()
    assert fanout["terminals"] == 200


@pytest.mark.anyio
async def test_virtual_terminals_adopt_their_villages_schedule_documents_verified_once(mosquitto, platform_key):
    from ruralcast_terminal.mqtt import Client

    plan = plan_terminals(count=30, region=COUNTY)
    villages = sorted({spec.village_code for spec in plan})
    fleet = Fleet(plan, host=mosquitto.host, port=mosquitto.port, trust=platform_key.trust())
    fleet.start()
    publisher = Client("schedule-pub", mosquitto.host, mosquitto.port)
    await publisher.connect()
    try:
        while fleet.connected < 30:
            await asyncio.sleep(0.02)
        for version in (4, 3):  # the older one is ignored
            for village in villages:
                document = {
                    "kind": "schedule", "format": 2, "version": version, "village": village,
                    "timezone": "Asia/Shanghai", "from": "2026-12-02", "days": 3, "entries": [],
                }  # fmt: skip
                await publisher.publish(f"rc/v1/down/r/{village}/schedule", platform_key.seal(document), qos=1)
        for _ in range(200):
            if fleet.min_schedules() >= 1 and sum(fleet.snapshot()["schedule_rejected"].values()) >= 30:
                break
            await asyncio.sleep(0.02)
    finally:
        await publisher.disconnect()
    stats = fleet.snapshot()
    await fleet.stop()
    assert len(stats["schedule_adopted"]["4"]) == 30 and "3" not in stats["schedule_adopted"]
    assert stats["schedule_rejected"] == {"duplicate": 30}
    assert stats["verify_count"] == 2 * len(villages)  # once per distinct document, not per terminal
    assert {vt.schedule_version for vt in fleet.terminals} == {4}


@pytest.mark.anyio
async def test_with_playlogs_virtual_terminals_report_each_entry_of_their_schedule_once(mosquitto, platform_key):
    import hashlib
    import json
    from datetime import UTC, datetime, timedelta

    from ruralcast_terminal.mqtt import Client

    plan = plan_terminals(count=6, region=COUNTY)
    fleet = Fleet(plan, host=mosquitto.host, port=mosquitto.port, trust=platform_key.trust(), playlogs=True)
    fleet.start()
    logs: list[tuple[str, dict]] = []
    listener = Client(
        "playlog-listener", mosquitto.host, mosquitto.port, subscriptions=[("rc/v1/up/+/playlog", 1)],
        on_message=lambda m: logs.extend((m.topic.split("/")[3], line) for line in json.loads(m.payload)["logs"]),
    )  # fmt: skip
    publisher = Client("schedule-pub", mosquitto.host, mosquitto.port)
    await listener.connect()
    await publisher.connect()
    start = (datetime.now(UTC) + timedelta(seconds=1)).astimezone()
    sha = hashlib.sha256(b"x").hexdigest()
    entry = {
        "start": start.isoformat(), "ms": 500, "title": "新闻", "item": 1, "volume": 70, "tier": 3,
        "region": COUNTY, "schedule": 1, "slot": 9, "audio": {"url": "http://127.0.0.1:9/x.mp3", "sha256": sha, "bytes": 1},
    }  # fmt: skip
    player = asyncio.create_task(fleet.play_schedules(tick=0.1))
    try:
        while fleet.connected < 6:
            await asyncio.sleep(0.02)
        for village in sorted({spec.village_code for spec in plan}):
            document = {
                "kind": "schedule", "format": 2, "version": 5, "village": village, "timezone": "Asia/Shanghai",
                "from": "2026-12-02", "days": 3, "entries": [entry],
            }  # fmt: skip
            await publisher.publish(f"rc/v1/down/r/{village}/schedule", platform_key.seal(document), qos=1)
        for _ in range(150):
            if len(logs) >= 6:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # no second report of the same entry
    finally:
        player.cancel()
        await publisher.disconnect()
        await listener.disconnect()
        await fleet.stop()
    assert sorted(terminal for terminal, _line in logs) == sorted(spec.terminal_id for spec in plan)
    assert {(line["slot"], line["outcome"], line["version"]) for _t, line in logs} == {(9, "played", 5)}
