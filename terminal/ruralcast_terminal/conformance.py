"""The conformance kit: plays the platform's side against a terminal under test, over a real broker.

`ruralcast-terminal conformance --broker HOST:PORT --terminal-id ID --platform-key FILE` publishes
what a platform publishes — valid alerts of every kind, an update and a cancel of a playing alert, a
cancel that comes first, tampered, replayed, stale, expired, foreign, unknown-key, oversize and
garbage messages, a trust-list rotation and commands — and judges the terminal only by what it sends
back (receipts, command answers), rule by rule, against docs/protocols.md ("Conformance"). It needs
no platform and no Django: a vendor runs it with this package, a broker and the terminal.

The terminal must trust the kit's key (`--platform-key`): `ruralcast-terminal conformance-key DIR`
writes a test key and the trust list to provision the terminal with; or use a test platform's key
file (`RUN_DIR/keys/<serial>.key`, the same format). Each run uses EBM ids of its own (a random
sender serial and sequence), so runs do not collide in the terminal's duplicate store. The
trust-list rule adds a key and takes it away again; pass `--trust` (the terminal's list) when it
trusts more keys than the kit's, so that the restored list is the one it had.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ruralcast_terminal import crypto, protocol, topics
from ruralcast_terminal.mqtt import Client, Message
from ruralcast_terminal.protocol import TrustedKey, TrustList

CST = timezone(timedelta(hours=8))
FOREIGN_PROVINCE = ("110000000000", "120000000000")  # 北京, 天津: one of them never covers the village


@dataclass(frozen=True)
class KitKey:
    """The platform's signing key the kit signs with: the key file of the platform's key store
    (`{"v": 1, "serial", "alg", "private_key": base64}`)."""

    serial: str
    alg: str
    private: bytes

    @classmethod
    def generate(cls, *, alg: str = crypto.ALG_ED25519, serial: str | None = None) -> KitKey:
        serial = serial or datetime.now(UTC).strftime("%Y%m%d") + f"{secrets.randbelow(10_000):04d}"
        return cls(serial, alg, crypto.generate_private_key(alg))

    @classmethod
    def load(cls, path: Path) -> KitKey:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not {"serial", "alg", "private_key"} <= data.keys():
            raise ValueError(f"{path} is not a key file (serial, alg, private_key)")
        return cls(str(data["serial"]), str(data["alg"]), base64.b64decode(data["private_key"]))

    def document(self) -> dict[str, Any]:
        return {"v": 1, "serial": self.serial, "alg": self.alg, "private_key": base64.b64encode(self.private).decode()}

    def trusted(self) -> TrustedKey:
        public = crypto.public_key_of(self.alg, self.private)
        return TrustedKey(serial=self.serial, alg=self.alg, public_key=public, revoked=False, usage=("broadcast",))

    def seal(self, payload: dict[str, Any]) -> bytes:
        return protocol.seal(payload, alg=self.alg, serial=self.serial, private_key=self.private)


def key_write(directory: Path, *, alg: str = crypto.ALG_ED25519) -> tuple[Path, Path]:
    """A fresh test key (`platform-key.json`, mode 0600) and the trust list holding it (`trust.json`)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = KitKey.generate(alg=alg)
    key_path, trust_path = directory / "platform-key.json", directory / "trust.json"
    key_path.touch(mode=0o600)
    key_path.write_text(json.dumps(key.document()) + "\n", encoding="utf-8")
    trust_path.write_bytes(TrustList([key.trusted()]).to_json())
    return key_path, trust_path


def silent_mp3(seconds: float) -> bytes:
    """Real MP3 (MPEG-2 Layer III, 16 kHz mono, 32 kbit/s) of silence: 144-byte frames of 36 ms whose
    side information is zero, so every decoder plays nothing for `seconds`."""
    frame = b"\xff\xf3\x48\xc0" + bytes(140)
    return frame * max(1, round(seconds / 0.036))


@dataclass
class Result:
    rule: str
    ok: bool
    detail: str


Events = list[tuple[str, str]]


@dataclass
class Kit:
    """One run against one terminal. `await Kit(...).run()` returns a Result per rule."""

    host: str
    port: int
    terminal_id: str
    key: KitKey
    village_code: str = ""
    username: str | None = None
    password: str | None = None
    trust: TrustList | None = None  # the terminal's list (restored after the rotation rule)
    timeout: float = 10.0  # for each expected receipt
    quiet: float = 2.0  # how long "nothing is sent" is watched
    ssl: Any = None
    server_hostname: str | None = None
    languages: tuple[str, ...] = ("zho",)  # the terminal's provisioned preference (its `languages`)
    receipts: dict[str, Events] = field(default_factory=dict)
    acks: dict[str, Events] = field(default_factory=dict)
    online: bool = False

    def __post_init__(self) -> None:
        self.village_code = self.village_code or self.terminal_id[1:13]
        protocol.covering_codes(self.village_code)  # ValueError for a bad code
        self.county = self.village_code[:6] + "000000"
        self.sender = f"4{self.county}01010101{10 + secrets.randbelow(90)}"
        self.seq = itertools.count(secrets.randbelow(9000))
        self.trust = self.trust or TrustList([self.key.trusted()])
        self.client = Client(
            f"rc-conformance-{secrets.token_hex(4)}",
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            ssl=self.ssl,
            server_hostname=self.server_hostname,
            subscriptions=[
                (topics.receipt_topic(self.terminal_id), 1),
                (topics.ack_topic(self.terminal_id), 1),
                (topics.status_topic(self.terminal_id), 1),
            ],
            on_message=self._heard,
        )

    # -- what the terminal says ----------------------------------------------------------------

    def _heard(self, message: Message) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if message.topic.endswith("/status"):
            self.online = body.get("online") is True
        elif message.topic.endswith("/ack"):
            self.acks.setdefault(str(body.get("id")), []).append((str(body.get("result")), str(body.get("detail", ""))))
        else:
            listed = body.get("events")
            events: list[Any] = listed if isinstance(listed, list) else [body]
            for event in events:
                if isinstance(event, dict):
                    got = (str(event.get("event")), str(event.get("reason", "")))
                    self.receipts.setdefault(str(body.get("ebm_id")), []).append(got)

    async def _until(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def expect(self, ebm_id: str, wanted: Events) -> tuple[bool, str]:
        """The terminal sends exactly `wanted` for `ebm_id`, in this order (within the timeout)."""
        await self._until(lambda: len(self.receipts.get(ebm_id, [])) >= len(wanted))
        await asyncio.sleep(0.05)  # a receipt too many would arrive with the last one
        got = self.receipts.get(ebm_id, [])
        return got == wanted, f"expected {_events(wanted)}; got {_events(got)}"

    # -- what the platform sends ---------------------------------------------------------------

    def ebm_id(self) -> str:
        return f"{self.sender}{datetime.now(CST):%Y%m%d}{next(self.seq) % 10_000:04d}"

    def alert(self, *, seconds: float = 0.3, **fields: Any) -> dict[str, Any]:
        """A §4 payload for the terminal's village (inline audio of `seconds`); `fields` override."""
        now = datetime.now(CST).replace(microsecond=0)
        audio = silent_mp3(seconds)
        ebm_id = self.ebm_id()
        payload: dict[str, Any] = {
            "kind": "alert", "ebm_id": ebm_id, "cap_id": f"urn:ruralcast:{self.sender}:{ebm_id}",
            "sender": self.sender, "sender_name": "conformance kit", "sent": now.isoformat(),
            "status": "Actual", "msg_type": "Alert", "references": [], "scope": "Public", "event": "11B03",
            "severity": 3, "urgency": "Immediate", "certainty": "Observed", "onset": now.isoformat(),
            "expires": (now + timedelta(minutes=30)).isoformat(), "areas": [self.village_code],
            "language": "zho", "title": "一致性测试", "text": "这是终端一致性测试。",
            "audio": {"url": f"https://conformance.invalid/{hashlib.sha256(audio).hexdigest()}.mp3",
                      "sha256": hashlib.sha256(audio).hexdigest(), "bytes": len(audio), "seconds": seconds,
                      "mime": "audio/mpeg", "inline": base64.b64encode(audio).decode()},
            "volume": 60, "repeat": 1, "drill": False,
        }  # fmt: skip
        payload.update(fields)
        if protocol.is_drill(payload) and "preamble" not in payload and payload["msg_type"] != "Cancel":
            clip = silent_mp3(0.5)
            payload["preamble"] = {
                "sha256": hashlib.sha256(clip).hexdigest(), "bytes": len(clip), "seconds": 0.5,
                "mime": "audio/mpeg", "inline": base64.b64encode(clip).decode(),
            }  # fmt: skip
        return payload

    def attached(self, payload: dict[str, Any], audio: bytes) -> tuple[dict[str, Any], bytes]:
        """The payload with its audio attached (§3) instead of inline."""
        meta = {**payload["audio"], "inline": None, "attached": True}
        meta.update(sha256=hashlib.sha256(audio).hexdigest(), bytes=len(audio))
        return {**payload, "audio": meta}, audio

    async def send(
        self, payload: dict[str, Any] | None, *, data: bytes | None = None, attachment: bytes | None = None,
        region: str | None = None, topic_id: str | None = None, key: KitKey | None = None,
    ) -> bytes:  # fmt: skip
        """Publish like the dispatcher: on `rc/v1/down/r/<region>/<ebm id>`, QoS 1, not retained."""
        if data is None:
            assert payload is not None
            data = protocol.message_join((key or self.key).seal(payload), attachment)
        name = topic_id or (payload or {}).get("ebm_id", "")
        await self.client.publish(topics.region_topic(region or self.village_code, name), data, qos=1)
        return data

    def command(self, command: str, *, expires_in: float = 120, **target: Any) -> dict[str, Any]:
        now = datetime.now(CST).replace(microsecond=0)
        return {
            "kind": "command", "id": secrets.token_hex(8), "command": command, "params": {},
            "sent": now.isoformat(), "expires": (now + timedelta(seconds=expires_in)).isoformat(), **target,
        }  # fmt: skip

    def trust_update(self, keys: TrustList, version: int) -> dict[str, Any]:
        sent = datetime.now(CST).isoformat(timespec="seconds")
        return {"kind": "trust", "version": version, "sent": sent, "keys": keys.to_list()}

    # -- the run -------------------------------------------------------------------------------

    async def run(self, rules: Sequence[tuple[str, Rule]]) -> list[Result]:
        """Every rule in order (`conformance_rules.RULES`), after checking that the terminal is online."""
        await self.client.connect()
        results: list[Result] = []
        try:
            ok = await self._until(lambda: self.online)
            results.append(Result("online", ok, "retained status online" if ok else "no online status"))
            quiet_checks: list[tuple[int, Callable[[], tuple[bool, str]]]] = []
            for name, rule in rules:
                if not ok:
                    results.append(Result(name, False, "not run: the terminal is not online"))
                    continue
                try:
                    outcome = await rule(self)
                except Exception as exc:  # noqa: BLE001 — a broken rule is reported, not raised
                    outcome = (False, f"the kit failed: {exc!r}")
                if callable(outcome):  # judged after the quiet period (nothing may arrive meanwhile)
                    quiet_checks.append((len(results), outcome))
                    outcome = (False, "not judged")
                results.append(Result(name, *outcome))
            if quiet_checks:
                await asyncio.sleep(self.quiet)
                for index, check in quiet_checks:
                    results[index] = Result(results[index].rule, *check())
        finally:
            await self.client.disconnect()
        return results


Rule = Callable[[Kit], Awaitable[tuple[bool, str] | Callable[[], tuple[bool, str]]]]


def _events(events: Events) -> str:
    return ", ".join(f"{event} {reason}".strip() for event, reason in events) or "nothing"


def report_lines(results: list[Result]) -> list[str]:
    width = max(len(r.rule) for r in results)
    lines = [f"{'PASS' if r.ok else 'FAIL'}  {r.rule:<{width}}  {r.detail}" for r in results]
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return lines


def report_json(results: list[Result], *, terminal_id: str) -> str:
    failed = sum(not r.ok for r in results)
    rules = [{"rule": r.rule, "ok": r.ok, "detail": r.detail} for r in results]
    return json.dumps(
        {"terminal": terminal_id, "passed": len(results) - failed, "failed": failed, "rules": rules},
        ensure_ascii=False,
    )


def add_arguments(parser: Any) -> None:
    parser.add_argument("--broker", required=True, help="HOST:PORT of the broker the terminal uses")
    parser.add_argument("--terminal-id", required=True, help="the 23-digit id of the terminal under test")
    parser.add_argument("--village", default="", help="its village code (default: digits 2–13 of the id)")
    parser.add_argument("--platform-key", type=Path, required=True, help="key file the terminal trusts")
    parser.add_argument("--trust", type=Path, help="the terminal's trust list (JSON), restored after rotation")
    parser.add_argument("--username", help="broker user (a platform account: reads uplinks, writes downlinks)")
    parser.add_argument("--password", help="its password (or RURALCAST_KIT_PASSWORD)")
    parser.add_argument("--ca", type=Path, help="CA certificate (PEM) to pin: TLS to the broker")
    parser.add_argument("--server-name", help="the name the broker's certificate carries")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each receipt")
    parser.add_argument("--quiet", type=float, default=2.0, help="seconds to watch that nothing is sent")
    parser.add_argument(
        "--languages", default="zho", help="the terminal's provisioned language preference, comma-separated"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")


def conformance_main(args: Any, rules: Sequence[tuple[str, Rule]]) -> int:
    """Run the kit from the command line: 0 when every rule passes, 1 otherwise, 2 for bad arguments."""
    import os
    import sys

    from ruralcast_terminal.loops import run_event_loop

    try:
        host, _, port = str(args.broker).rpartition(":")
        ssl = None
        if args.ca:
            from ruralcast_terminal.tls import client_context

            ssl = client_context(args.ca.read_text(encoding="utf-8"))
        kit = Kit(
            host=host or "127.0.0.1",
            port=int(port),
            terminal_id=args.terminal_id,
            village_code=args.village,
            key=KitKey.load(args.platform_key),
            trust=TrustList.from_json(args.trust.read_bytes()) if args.trust else None,
            username=args.username,
            password=args.password or os.environ.get("RURALCAST_KIT_PASSWORD"),
            timeout=args.timeout,
            quiet=args.quiet,
            ssl=ssl,
            server_hostname=args.server_name,
            languages=tuple(code.strip() for code in str(args.languages).split(",") if code.strip()) or ("zho",),
        )
    except (OSError, ValueError) as exc:
        print(f"ruralcast-terminal conformance: {exc}", file=sys.stderr)
        return 2
    try:
        results = run_event_loop(kit.run(rules))
    except OSError as exc:
        print(f"ruralcast-terminal conformance: cannot reach the broker: {exc}", file=sys.stderr)
        return 2
    print(report_json(results, terminal_id=kit.terminal_id) if args.json else "\n".join(report_lines(results)))
    return 0 if all(r.ok for r in results) else 1
