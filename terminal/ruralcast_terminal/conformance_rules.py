"""The rules of the conformance kit (`conformance.py`), one function each, in the order they run.

Each publishes what the platform would and returns (passed, what was seen), or — for a rule whose
point is that the terminal sends *nothing* — a check the kit calls after its quiet period. The
expected receipts are docs/protocols.md §5's state machine; the names are the "Conformance" table's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ruralcast_terminal import topics
from ruralcast_terminal.conformance import CST, FOREIGN_PROVINCE, Kit, KitKey, Rule, silent_mp3
from ruralcast_terminal.languages import language_key
from ruralcast_terminal.protocol import MAX_ENVELOPE_BYTES, TrustList
from ruralcast_terminal.wire import canonical_json

PLAYED = [("received", ""), ("started", ""), ("finished", "")]
Verdict = tuple[bool, str]


async def alert_inline(kit: Kit) -> Verdict:
    """An Alert for the county (published on the county's topic), audio inline, played twice."""
    payload = kit.alert(areas=[kit.county], repeat=2)
    await kit.send(payload, region=kit.county)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def alert_attached(kit: Kit) -> Verdict:
    payload, audio = kit.attached(kit.alert(), silent_mp3(0.3))
    await kit.send(payload, attachment=audio)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def alert_national(kit: Kit) -> Verdict:
    """For the whole country, on the national root's topic."""
    payload = kit.alert(areas=["000000000000"], severity=4)
    await kit.send(payload, region="000000000000")
    return await kit.expect(payload["ebm_id"], PLAYED)


async def drill(kit: Kit) -> Verdict:
    payload = kit.alert(status="Exercise", drill=True)
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def drill_without_preamble(kit: Kit) -> Verdict:
    payload = kit.alert(status="Test", preamble=None)
    del payload["preamble"]
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], [("rejected", "drill_preamble")])


async def audio_mismatch(kit: Kit) -> Verdict:
    """The attachment is not the audio the signed payload names: received, then failed."""
    named = silent_mp3(0.3) + b"TAG" + secrets.token_bytes(125)  # an ID3v1 tag: never in the terminal's cache
    payload, _ = kit.attached(kit.alert(), named)
    await kit.send(payload, attachment=silent_mp3(0.3))
    return await kit.expect(payload["ebm_id"], [("received", ""), ("failed", "audio_failed")])


def _text(language: str, *, broken: bool = False) -> dict:
    """One of a version-2 alert's `texts`; `broken`: its inline audio does not match its SHA-256
    (never in a terminal's cache), so a terminal that takes it reports `failed audio_failed`."""
    clip = silent_mp3(0.3)
    named = clip + b"TAG" + secrets.token_bytes(125) if broken else clip
    audio = {
        "url": f"https://conformance.invalid/{hashlib.sha256(named).hexdigest()}.mp3",
        "sha256": hashlib.sha256(named).hexdigest(), "bytes": len(named), "seconds": 0.3,
        "mime": "audio/mpeg", "inline": base64.b64encode(clip).decode(), "attached": False,
    }  # fmt: skip
    return {"language": language, "title": f"一致性测试 {language}", "text": "这是终端一致性测试。", "audio": audio}


def _multilingual(kit: Kit, texts: list[dict]) -> dict:
    """A version-2 alert (§4 "Languages"): the top-level members are the first text's."""
    first = texts[0]
    return kit.alert(
        payload_version=2, texts=texts, language=first["language"], title=first["title"], audio=first["audio"]
    )


def _not_preferred(kit: Kit, count: int) -> list[str]:
    """Language codes the terminal under test does not prefer."""
    preferred = {language_key(code) for code in kit.languages}
    return [code for code in ("eng", "fra", "rus", "kor", "vie") if code not in preferred][:count]


async def payload_v1(kit: Kit) -> Verdict:
    """An alert without `payload_version` (version 1, one language) still plays."""
    payload = kit.alert()
    assert "payload_version" not in payload
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def languages_preferred(kit: Kit) -> Verdict:
    """The primary is a language the terminal does not prefer, with broken audio; its preferred
    language's text is fine: a terminal that plays its preference plays it, one that plays the
    primary fails."""
    (other,) = _not_preferred(kit, 1)
    payload = _multilingual(kit, [_text(other, broken=True), _text(kit.languages[0])])
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def languages_fallback(kit: Kit) -> Verdict:
    """None of the alert's languages is preferred: the primary plays, the other is never taken."""
    first, second = _not_preferred(kit, 2)
    payload = _multilingual(kit, [_text(first), _text(second, broken=True)])
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def bad_texts(kit: Kit) -> Verdict:
    """A version-2 alert naming one language twice is malformed."""
    language = kit.languages[0]
    payload = _multilingual(kit, [_text(language), _text(language)])
    await kit.send(payload)
    return await kit.expect(payload["ebm_id"], [("rejected", "malformed")])


async def _playing(kit: Kit, seconds: float = 4.0) -> tuple[dict, bool]:
    alert = kit.alert(seconds=seconds)
    await kit.send(alert)
    started = await kit._until(lambda: ("started", "") in kit.receipts.get(alert["ebm_id"], []))
    return alert, started


async def update_replaces_playing(kit: Kit) -> Verdict:
    alert, started = await _playing(kit)
    if not started:
        return False, f"the alert never started: {kit.receipts.get(alert['ebm_id'])}"
    update = kit.alert(msg_type="Update", references=[alert["ebm_id"]], title="更新")
    await kit.send(update, topic_id=alert["ebm_id"])  # on the chain's topic, as the platform does
    old_ok, old = await kit.expect(alert["ebm_id"], [("received", ""), ("started", ""), ("cancelled", "superseded")])
    new_ok, new = await kit.expect(update["ebm_id"], PLAYED)
    return old_ok and new_ok, f"alert: {old}; update: {new}"


async def cancel_stops_playing(kit: Kit) -> Callable[[], Verdict]:
    alert, _ = await _playing(kit)
    cancel = kit.alert(msg_type="Cancel", references=[alert["ebm_id"]], title="解除")  # its audio is not played
    await kit.send(cancel, topic_id=alert["ebm_id"])
    old = await kit.expect(alert["ebm_id"], [("received", ""), ("started", ""), ("cancelled", "")])

    def judged() -> Verdict:
        got = kit.receipts.get(cancel["ebm_id"], [])
        ok = old[0] and got == [("received", "")]
        return ok, f"alert: {old[1]}; cancel: expected received only; got {', '.join(e for e, _ in got) or 'nothing'}"

    return judged


async def cancel_before_alert(kit: Kit) -> Verdict:
    """The Cancel arrives first (the alert was delayed): the alert, when it comes, never plays."""
    alert = kit.alert()
    cancel = kit.alert(msg_type="Cancel", references=[alert["ebm_id"]], audio=None)
    await kit.send(cancel, topic_id=alert["ebm_id"])
    cancel_ok, cancel_seen = await kit.expect(cancel["ebm_id"], [("received", "")])
    await kit.send(alert)
    ok, seen = await kit.expect(alert["ebm_id"], [("received", ""), ("cancelled", "already withdrawn")])
    return cancel_ok and ok, f"cancel: {cancel_seen}; alert: {seen}"


async def _rejected(kit: Kit, payload: dict, reason: str, **send: object) -> Verdict:
    await kit.send(payload, **send)  # type: ignore[arg-type]
    return await kit.expect(payload["ebm_id"], [("rejected", reason)])


async def tampered(kit: Kit) -> Verdict:
    payload = kit.alert()
    envelope = json.loads(kit.key.seal(payload))
    text = json.loads(base64.b64decode(envelope["payload"]))
    text["title"] = "篡改"  # the signed bytes changed after signing
    envelope["payload"] = base64.b64encode(canonical_json(text)).decode()
    await kit.send(payload, data=json.dumps(envelope, separators=(",", ":")).encode())
    return await kit.expect(payload["ebm_id"], [("rejected", "bad_signature")])


async def unknown_key(kit: Kit) -> Verdict:
    stranger = KitKey.generate(alg=kit.key.alg, serial="199901010000")
    return await _rejected(kit, kit.alert(), "unknown_key", key=stranger)


async def expired(kit: Kit) -> Verdict:
    now = datetime.now(CST).replace(microsecond=0)
    payload = kit.alert(sent=(now - timedelta(hours=2)).isoformat(), expires=(now - timedelta(hours=1)).isoformat())
    return await _rejected(kit, payload, "expired")


async def stale(kit: Kit) -> Verdict:
    """Sent 8 days ago, still valid: older than any freshness window a terminal may have (≤ 7 days)."""
    now = datetime.now(CST).replace(microsecond=0)
    payload = kit.alert(sent=(now - timedelta(days=8)).isoformat(), onset=(now - timedelta(days=8)).isoformat())
    return await _rejected(kit, payload, "stale")


async def from_the_future(kit: Kit) -> Verdict:
    now = datetime.now(CST).replace(microsecond=0)
    return await _rejected(kit, kit.alert(sent=(now + timedelta(minutes=20)).isoformat()), "stale")


async def foreign(kit: Kit) -> Verdict:
    """For another province, published on the terminal's own village topic: the areas decide."""
    other = FOREIGN_PROVINCE[kit.village_code.startswith("11")]
    return await _rejected(kit, kit.alert(areas=[other]), "not_in_target")


async def oversize(kit: Kit) -> Verdict:
    payload, audio = kit.attached(kit.alert(), b"\0" * (MAX_ENVELOPE_BYTES + 1))
    return await _rejected(kit, payload, "malformed", attachment=audio)


async def garbage(kit: Kit) -> Verdict:
    """Not an envelope, on an alert topic: rejected under the topic's EBM id."""
    ebm_id = kit.ebm_id()
    await kit.send(None, data=b"{this is not an envelope", topic_id=ebm_id)
    return await kit.expect(ebm_id, [("rejected", "malformed")])


async def cancel_without_references(kit: Kit) -> Verdict:
    return await _rejected(kit, kit.alert(msg_type="Cancel", references=[]), "malformed")


async def replayed(kit: Kit) -> Callable[[], Verdict]:
    """The same message twice (a retained copy, a second region topic): one set of receipts."""
    payload = kit.alert()
    data = await kit.send(payload)
    await kit.expect(payload["ebm_id"], PLAYED)
    await kit.send(payload, data=data)
    await kit.send(payload, data=data, region=kit.county)
    return lambda: (
        kit.receipts.get(payload["ebm_id"]) == PLAYED,
        f"expected {len(PLAYED)} receipts once; got {kit.receipts.get(payload['ebm_id'])}",
    )


async def unknown_kind(kit: Kit) -> Callable[[], Verdict]:
    """A verified payload of a kind the terminal does not know (protocols.md §3): no receipt."""
    payload = {**kit.alert(), "kind": "x-conformance"}
    await kit.send(payload)
    return lambda: (not kit.receipts.get(payload["ebm_id"]), f"got {kit.receipts.get(payload['ebm_id'])}")


async def trust_rotation(kit: Kit) -> Verdict:
    """A list adding a successor (signed by the trusted key) is adopted and its key signs alerts;
    the list restored (a newer version) takes it away again; the first list replayed changes nothing."""
    assert kit.trust is not None
    successor = KitKey.generate(alg=kit.key.alg, serial="199901019999")
    version = int(time.time() * 1000)
    added = kit.key.seal(
        kit.trust_update(TrustList.from_list(kit.trust.to_list() + TrustList([successor.trusted()]).to_list()), version)
    )
    topic = topics.trust_topic()
    await kit.client.publish(topic, added, qos=1)
    await asyncio.sleep(0.3)
    first = kit.alert()
    ok1, seen1 = await _played_by(kit, first, successor)
    await kit.client.publish(topic, kit.key.seal(kit.trust_update(kit.trust, version + 1)), qos=1)
    await kit.client.publish(topic, added, qos=1)  # a replay of the older list
    await asyncio.sleep(0.3)
    second = kit.alert()
    ok2, seen2 = await _rejected(kit, second, "unknown_key", key=successor)
    return ok1 and ok2, f"with the successor: {seen1}; after the restore: {seen2}"


async def _played_by(kit: Kit, payload: dict, key: KitKey) -> Verdict:
    await kit.send(payload, key=key)
    return await kit.expect(payload["ebm_id"], PLAYED)


async def _answer(kit: Kit, command: dict, region: str | None, wanted: str) -> Verdict:
    topic = topics.command_topic(region, command["id"]) if region else topics.terminal_topic(kit.terminal_id)
    await kit.client.publish(topic, kit.key.seal(command), qos=1)
    await kit._until(lambda: bool(kit.acks.get(command["id"])))
    got = kit.acks.get(command["id"], [])
    return [r for r, _ in got] == [wanted], f"expected {wanted}; got {got or 'nothing'}"


async def command_terminal(kit: Kit) -> Verdict:
    return await _answer(kit, kit.command("time_sync", terminals=[kit.terminal_id]), None, "done")


async def command_region(kit: Kit) -> Verdict:
    return await _answer(kit, kit.command("time_sync", areas=[kit.county]), kit.county, "done")


async def command_expired(kit: Kit) -> Verdict:
    return await _answer(kit, kit.command("time_sync", expires_in=-60, terminals=[kit.terminal_id]), None, "rejected")


async def command_for_another(kit: Kit) -> Callable[[], Verdict]:
    other = kit.terminal_id[:-2] + ("98" if not kit.terminal_id.endswith("98") else "97")
    command = kit.command("time_sync", terminals=[other])
    await kit.client.publish(topics.terminal_topic(kit.terminal_id), kit.key.seal(command), qos=1)
    return lambda: (not kit.acks.get(command["id"]), f"got {kit.acks.get(command['id']) or 'nothing'}")


RULES: list[tuple[str, Rule]] = [
    ("alert.inline", alert_inline),
    ("alert.attached", alert_attached),
    ("alert.national", alert_national),
    ("alert.drill", drill),
    ("alert.audio_mismatch", audio_mismatch),
    ("alert.payload_v1", payload_v1),
    ("languages.preferred", languages_preferred),
    ("languages.fallback_primary", languages_fallback),
    ("update.replaces_playing", update_replaces_playing),
    ("cancel.stops_playing", cancel_stops_playing),
    ("cancel.before_alert", cancel_before_alert),
    ("reject.tampered", tampered),
    ("reject.unknown_key", unknown_key),
    ("reject.expired", expired),
    ("reject.stale", stale),
    ("reject.future", from_the_future),
    ("reject.foreign", foreign),
    ("reject.oversize", oversize),
    ("reject.garbage", garbage),
    ("reject.cancel_without_references", cancel_without_references),
    ("reject.drill_without_preamble", drill_without_preamble),
    ("reject.bad_texts", bad_texts),
    ("ignore.replayed", replayed),
    ("ignore.unknown_kind", unknown_kind),
    ("trust.rotation", trust_rotation),
    ("command.terminal_topic", command_terminal),
    ("command.region_topic", command_region),
    ("command.expired", command_expired),
    ("ignore.command_for_another", command_for_another),
]
