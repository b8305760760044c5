"""Fixtures for the terminal tests: a real mosquitto on 127.0.0.1, an asyncio test runner, and the
platform's side of the broker (a signing key, alert payloads, a publisher collecting receipts)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import hashlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ruralcast_terminal import crypto, protocol
from ruralcast_terminal.protocol import TrustedKey, TrustList, seal

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A mosquitto process on a fixed free port that a test can stop and start again."""

    def __init__(self, directory: Path, *, anonymous: bool = True, extra: str = "") -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            "persistence false\n"
            # Started as root, mosquitto would switch to the `mosquitto` user, which cannot read
            # or write the test's temporary directory; as any other user this line has no effect.
            f"user {getpass.getuser()}\n"
            "max_connections -1\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n" + extra
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err} {self.log.read_text() if self.log.exists() else ''}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh broker per test (no retained messages or sessions leak between tests)."""
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Brokers with their own settings (`anonymous=False`, `extra=` config lines), not yet started."""
    brokers: list[Mosquitto] = []

    def make(*, anonymous: bool = True, extra: str = "") -> Mosquitto:
        directory = tmp_path / f"broker{len(brokers)}"
        directory.mkdir()
        brokers.append(Mosquitto(directory, anonymous=anonymous, extra=extra))
        return brokers[-1]

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`@pytest.mark.anyio`) run on asyncio, like the agent."""
    return "asyncio"


# ---------------------------------------------------------------------------------------------
# The platform's side, for the agent and simulator tests: a signing key, alert payloads, and a
# publisher that also collects the receipts terminals send back.

CST = timezone(timedelta(hours=8))
HOME_VILLAGE = "522632100001"  # 大十字社区, 古州镇, 榕江县
HOME_TERMINAL = f"6{HOME_VILLAGE}0314010401"
COUNTY = "522632000000"
SENDER = "45226320000000101010101"  # 榕江县 emergency broadcast platform


class PlatformKey:
    """A platform signing key (Ed25519 unless told otherwise) and the trust list that holds it."""

    def __init__(
        self, serial: str = "202611270001", alg: str = crypto.ALG_ED25519, usage: str = protocol.USAGE_BROADCAST
    ) -> None:
        self.serial, self.alg, self.usage = serial, alg, usage
        self.private = crypto.generate_private_key(alg)
        self.public = crypto.public_key_of(alg, self.private)

    def trusted(self, *, revoked: bool = False) -> TrustedKey:
        return TrustedKey(
            serial=self.serial, alg=self.alg, public_key=self.public, revoked=revoked, usage=(self.usage,)
        )

    def trust(self, *, revoked: bool = False) -> TrustList:
        return TrustList([self.trusted(revoked=revoked)])

    def seal(self, payload: dict[str, Any]) -> bytes:
        return seal(payload, alg=self.alg, serial=self.serial, private_key=self.private)


DRILL_PREAMBLE = b"ID3 drill preamble frames " * 4


def ebm_id(seq: int) -> str:
    return f"{SENDER}20261127{seq:04d}"


def alert_payload(
    seq: int = 1,
    *,
    severity: int = 2,
    seconds: float = 0.1,
    msg_type: str = "Alert",
    references: Sequence[str] = (),
    status: str = "Actual",
    drill: bool = False,
    areas: Sequence[str] = (COUNTY,),
    sent: datetime | None = None,
    expires: datetime | None = None,
    audio: bytes | None = b"ID3 fake mp3 frames " * 8,
    inline: bool = True,
    attached: bool = False,
    url: str | None = None,
    repeat: int = 1,
    preamble: bytes | None = DRILL_PREAMBLE,
) -> dict[str, Any]:
    """A payload as docs/protocols.md §4 shows it; `seconds` is the audio length a sink simulates.

    A drill (status other than Actual, or `drill`) carries `preamble` inline, as the platform sends
    it; `preamble=None` leaves it out."""
    now = datetime.now(CST).replace(microsecond=0)
    sent = sent or now
    return {
        "kind": "alert",
        "ebm_id": ebm_id(seq),
        "cap_id": f"urn:ruralcast:{SENDER}:{ebm_id(seq)}",
        "sender": SENDER,
        "sender_name": "榕江县应急广播平台",
        "sent": sent.isoformat(),
        "status": status,
        "msg_type": msg_type,
        "references": list(references),
        "scope": "Public",
        "event": "11B03",
        "severity": severity,
        "urgency": "Immediate",
        "certainty": "Observed",
        "onset": sent.isoformat(),
        "expires": (expires or sent + timedelta(hours=1)).isoformat(),
        "areas": list(areas),
        "language": "zho",
        "title": f"暴雨红色预警 {seq}",
        "text": "请立即转移到安全地带。",
        "audio": None
        if audio is None
        else {
            "url": url or f"http://127.0.0.1:9/a/{hashlib.sha256(audio).hexdigest()}.mp3",
            "sha256": hashlib.sha256(audio).hexdigest(),
            "bytes": len(audio),
            "seconds": seconds,
            "mime": "audio/mpeg",
            "inline": base64.b64encode(audio).decode() if inline and not attached else None,
            **({"attached": True} if attached else {}),
        },
        "volume": 80,
        "repeat": repeat,
        "drill": drill,
        **({"preamble": preamble_member(preamble)} if preamble is not None and (status != "Actual" or drill) else {}),
    }


def preamble_member(clip: bytes) -> dict[str, Any]:
    """The `preamble` member of a drill's payload, the clip inline."""
    return {
        "sha256": hashlib.sha256(clip).hexdigest(),
        "bytes": len(clip),
        "seconds": 2.5,
        "mime": "audio/mpeg",
        "inline": base64.b64encode(clip).decode(),
    }


def receipts_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per receipt, whether the message carries one (`event`) or several (`events`)."""
    if "events" in message:
        base = {k: v for k, v in message.items() if k != "events"}
        return [{**base, **event} for event in message["events"]]
    return [message]


class Platform:
    """Publishes alerts on region topics and collects every receipt (`rc/v1/up/+/receipt`)."""

    def __init__(self, broker: Mosquitto) -> None:
        from ruralcast_terminal.mqtt import Client

        self.receipts: list[dict[str, Any]] = []
        self.publisher = Client("platform-pub", broker.host, broker.port)
        self.listener = Client(
            "platform-receipts",
            broker.host,
            broker.port,
            subscriptions=[("rc/v1/up/+/receipt", 1)],
            on_message=lambda m: self.receipts.extend(receipts_of(json.loads(m.payload))),
        )

    async def __aenter__(self) -> Platform:
        await self.publisher.connect()
        await self.listener.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.publisher.disconnect()
        await self.listener.disconnect()

    async def publish(
        self, envelope: bytes, *, area: str = COUNTY, topic_id: str | None = None, retain: bool = False
    ) -> None:
        """On `rc/v1/down/r/<area>/<ebm id>` like the dispatcher (`topic_id` defaults to the payload's)."""
        if topic_id is None:
            head = protocol.message_split(envelope)[0]
            topic_id = json.loads(base64.b64decode(json.loads(head)["payload"]))["ebm_id"]
        await self.publisher.publish(f"rc/v1/down/r/{area}/{topic_id}", envelope, qos=1, retain=retain)

    def events(self, ebm: str | None = None) -> list[tuple[str, str]]:
        return [(r["event"], r["reason"]) for r in self.receipts if ebm is None or r["ebm_id"] == ebm]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met in {timeout} s; receipts so far: {self.receipts}")
            await asyncio.sleep(0.02)


@pytest.fixture
def platform_key() -> PlatformKey:
    return PlatformKey()


@pytest.fixture(name="alert_payload")
def alert_payload_fixture() -> Callable[..., dict[str, Any]]:
    """`alert_payload(seq, severity=…, seconds=…, msg_type=…, …)`: a fresh §4 payload."""
    return alert_payload


@pytest.fixture(name="Platform")
def platform_fixture() -> type[Platform]:
    """The Platform class: `async with Platform(mosquitto) as platform: …`."""
    return Platform


@pytest.fixture(name="PlatformKey")
def platform_key_class_fixture() -> type[PlatformKey]:
    """The PlatformKey class, for a second key (an impostor, an unknown serial)."""
    return PlatformKey
