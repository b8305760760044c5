"""The v1 wire contract shared by the platform, the terminal agent and the simulator.

docs/protocols.md is the specification; this module is its one implementation. An MQTT message is
an *envelope* (§3): `{"v": 1, "payload": <base64 of the signed bytes>, "sig": {"alg", "serial",
"value"}}`. The platform `seal`s a payload dict (canonical JSON → signature → envelope); a terminal
`open_envelope`s what it receives (decode → verify against its `TrustList` → parse) and then applies
`alert_check` (expiry, freshness, target area). Every refusal is a `Rejected` whose `reason` is the
receipt reason of §4, so the agent can put it straight into a receipt.

Choices where the page was vague (recorded in docs/protocols.md):
- JSON is read strictly everywhere: UTF-8 only, no NaN/Infinity, and **duplicate keys are
  refused**, so two parsers can never disagree about which value was meant.
- Base64 is the standard alphabet with padding, and must be canonical (re-encoding gives the same
  text): one payload has exactly one envelope text per signature.
- Unknown top-level envelope members are ignored (they are not signed, so they carry nothing);
  an unknown `sig.alg` is `malformed` (this terminal cannot read it), a known one that differs from
  the trusted key's is `bad_signature`.
- An envelope above 1 MiB is `malformed` before any parsing.

Region codes: 12 digits; a code's *significant prefix* (province 2, city 4, county 6, township 9,
village 12 digits; the national root `000000000000` has the empty prefix) is read from its trailing
zeros exactly as ruralcast.regions.codes.level_of_code does. That logic is copied here on purpose:
this package runs on village devices and must not import Django or the platform.

This module imports nothing outside the standard library but `ruralcast_terminal.crypto`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from ruralcast_terminal import crypto

PROTOCOL_VERSION = 1
MAX_ENVELOPE_BYTES = 1024 * 1024
DEFAULT_FRESHNESS = timedelta(hours=24)
FUTURE_TOLERANCE = timedelta(minutes=5)

SERIAL_LENGTH = 12
CODE_LENGTH = 12
NATIONAL_CODE = "0" * CODE_LENGTH
# Significant prefix length per level: national, province, city, county, township, village.
_PREFIX_LENGTHS = (0, 2, 4, 6, 9, 12)

# Receipt reasons of docs/protocols.md §4, in the order the rules apply (audio last).
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
BAD_SIGNATURE = "bad_signature"
KEY_USAGE = "key_usage"
EXPIRED = "expired"
STALE = "stale"
NOT_IN_TARGET = "not_in_target"
DUPLICATE = "duplicate"
AUDIO_FAILED = "audio_failed"
REASONS: tuple[str, ...] = (
    MALFORMED,
    UNKNOWN_KEY,
    REVOKED_KEY,
    BAD_SIGNATURE,
    KEY_USAGE,
    EXPIRED,
    STALE,
    NOT_IN_TARGET,
    DUPLICATE,
    AUDIO_FAILED,
)


# Key usage (§6), bound to each key by the trust list like X.509's extended key usage: a key signs
# for one purpose only, so a signature made for one can never pass for the other.
USAGE_BROADCAST = "broadcast"  # alerts, commands, schedules, live voice, trust-list updates
USAGE_FIRMWARE = "firmware"  # firmware manifests, and nothing else
DEFAULT_USAGE: tuple[str, ...] = (USAGE_BROADCAST,)  # a trust-list entry without `usage` (lists before §6's usage)
# Payload kinds signed for a usage other than broadcast.
_KIND_USAGE = {"firmware": USAGE_FIRMWARE}


def usage_for(kind: str) -> str:
    """The key usage a payload of `kind` must be signed under."""
    return _KIND_USAGE.get(kind, USAGE_BROADCAST)


class Rejected(Exception):
    """A message the terminal refuses; `reason` is the receipt reason, `detail` is for logs only."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------- JSON and base64


def canonical_json(obj: Any) -> bytes:
    """The canonical bytes of `obj`: keys sorted, no white space, UTF-8 without escaping non-ASCII.

    Signing the same payload twice gives the same bytes. Payloads carry strings, integers,
    booleans, null, lists and objects; floats are allowed but not portable across languages, so
    the platform does not put them in payloads.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """JSON as this protocol reads it; raises ValueError (or RecursionError) on anything else."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: Any) -> bytes:
    """Standard base64 with padding, canonical only; raises ValueError otherwise."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("base64 text expected")
    raw = base64.b64decode(text, validate=True)
    if _b64encode(raw) != text:
        raise ValueError("non-canonical base64")
    return raw


def _is_digits(value: Any, length: int) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


# ---------------------------------------------------------------------------- envelope


@dataclass(frozen=True)
class Envelope:
    """One MQTT message: the exact signed bytes and the signature over them."""

    payload: bytes
    alg: str
    serial: str
    signature: bytes


def envelope_encode(envelope: Envelope) -> bytes:
    """The envelope's wire bytes (canonical JSON). Raises ValueError for an envelope §3 forbids."""
    if envelope.alg not in crypto.ALGORITHMS:
        raise ValueError(f"unknown signature algorithm {envelope.alg!r}")
    if not _is_digits(envelope.serial, SERIAL_LENGTH):
        raise ValueError("a key serial is 12 digits")
    return canonical_json(
        {
            "v": PROTOCOL_VERSION,
            "payload": _b64encode(envelope.payload),
            "sig": {"alg": envelope.alg, "serial": envelope.serial, "value": _b64encode(envelope.signature)},
        }
    )


def envelope_decode(data: bytes) -> Envelope:
    """Read an envelope (rule 1 of §4). Raises Rejected("malformed") on anything wrong."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise Rejected(MALFORMED, "an envelope is bytes")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise Rejected(MALFORMED, f"envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        document = _strict_loads(data)
    except (ValueError, RecursionError) as error:
        raise Rejected(MALFORMED, f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise Rejected(MALFORMED, "an envelope is a JSON object")
    version = document.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise Rejected(MALFORMED, f"unsupported version {version!r}")
    sig = document.get("sig")
    if not isinstance(sig, dict):
        raise Rejected(MALFORMED, "sig is missing or not an object")
    alg, serial = sig.get("alg"), sig.get("serial")
    if alg not in crypto.ALGORITHMS:
        raise Rejected(MALFORMED, f"unknown sig.alg {alg!r}")
    if not _is_digits(serial, SERIAL_LENGTH):
        raise Rejected(MALFORMED, "sig.serial is not 12 digits")
    try:
        payload = _b64decode(document.get("payload"))
        signature = _b64decode(sig.get("value"))
    except ValueError as error:
        raise Rejected(MALFORMED, f"payload or sig.value: {error}") from None
    return Envelope(payload=payload, alg=alg, serial=serial, signature=signature)


# ---------------------------------------------------------------------------- trust list


@dataclass(frozen=True)
class TrustedKey:
    """One entry of a terminal's trust list (§6). Raises ValueError when built from bad values."""

    serial: str
    alg: str
    public_key: bytes
    revoked: bool = False
    usage: tuple[str, ...] = DEFAULT_USAGE  # what the key may sign (§6); unknown names grant nothing

    def __post_init__(self) -> None:
        if not _is_digits(self.serial, SERIAL_LENGTH):
            raise ValueError(f"key serial {self.serial!r} is not 12 digits")
        if self.alg not in crypto.ALGORITHMS:
            raise ValueError(f"key {self.serial}: unknown algorithm {self.alg!r}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != crypto.PUBLIC_KEY_LENGTH[self.alg]:
            raise ValueError(
                f"key {self.serial}: an {self.alg} public key is {crypto.PUBLIC_KEY_LENGTH[self.alg]} bytes"
            )
        if self.alg == crypto.ALG_SM2 and self.public_key[0] != 0x04:
            raise ValueError(f"key {self.serial}: an SM2 public key is an uncompressed point (04‖x‖y)")
        if not isinstance(self.revoked, bool):
            raise ValueError(f"key {self.serial}: revoked is true or false")
        if not isinstance(self.usage, tuple) or not all(isinstance(u, str) and u for u in self.usage):
            raise ValueError(f"key {self.serial}: usage is a list of names")


class TrustList:
    """The keys a terminal accepts signatures from, by serial; revoked keys stay listed, flagged.

    JSON form (§6): `[{"serial", "alg", "public_key" (base64), "revoked", "usage"}]`, sorted by
    serial; an entry without `usage` is a broadcast key. `from_json` raises ValueError on anything
    else (a duplicate serial included).
    """

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._keys: dict[str, TrustedKey] = {}
        for key in keys:
            if key.serial in self._keys:
                raise ValueError(f"key serial {key.serial} is listed twice")
            self._keys[key.serial] = key

    @classmethod
    def from_list(cls, items: Any) -> TrustList:
        """From the decoded JSON list (e.g. the `keys` of a signed trust-list update)."""
        if not isinstance(items, list):
            raise ValueError("a trust list is a JSON array")
        keys = []
        for item in items:
            if not isinstance(item, dict) or not {"serial", "alg", "public_key", "revoked"} <= item.keys():
                raise ValueError("each trust list entry has serial, alg, public_key and revoked")
            try:
                public_key = _b64decode(item["public_key"])
            except ValueError as error:
                raise ValueError(f"key {item['serial']!r}: public_key is not base64 ({error})") from None
            usage = item.get("usage", list(DEFAULT_USAGE))
            if not isinstance(usage, list):
                raise ValueError(f"key {item['serial']!r}: usage is a list")
            keys.append(
                TrustedKey(
                    serial=item["serial"],
                    alg=item["alg"],
                    public_key=public_key,
                    revoked=item["revoked"],
                    usage=tuple(usage),
                )
            )
        return cls(keys)

    @classmethod
    def from_json(cls, data: bytes | str) -> TrustList:
        try:
            items = _strict_loads(data)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"the trust list is not JSON: {error}") from None
        return cls.from_list(items)

    def to_list(self) -> list[dict[str, Any]]:
        return [
            {
                "serial": k.serial,
                "alg": k.alg,
                "public_key": _b64encode(k.public_key),
                "revoked": k.revoked,
                "usage": list(k.usage),
            }
            for k in self.keys
        ]

    def to_json(self) -> bytes:
        return canonical_json(self.to_list())

    def get(self, serial: str) -> TrustedKey | None:
        return self._keys.get(serial)

    @property
    def keys(self) -> tuple[TrustedKey, ...]:
        return tuple(self._keys[serial] for serial in sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustList) and self._keys == other._keys

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TrustList({list(self.keys)!r})"


def _trusted_key_for(envelope: Envelope, trust: TrustList) -> TrustedKey:
    """Rule 2 of §4, and the algorithm match that rule 3 needs."""
    key = trust.get(envelope.serial)
    if key is None:
        raise Rejected(UNKNOWN_KEY, f"serial {envelope.serial} is not in the trust list")
    if key.revoked:
        raise Rejected(REVOKED_KEY, f"serial {envelope.serial} is revoked")
    if key.alg != envelope.alg:
        raise Rejected(BAD_SIGNATURE, f"serial {envelope.serial} is an {key.alg} key, the envelope says {envelope.alg}")
    return key


def envelope_verify(envelope: Envelope, trust: TrustList) -> None:
    """Rules 2–3 of §4: a trusted, unrevoked key of the same algorithm signed these exact bytes."""
    key = _trusted_key_for(envelope, trust)
    if not crypto.verify(key.alg, key.public_key, envelope.payload, envelope.signature):
        raise Rejected(BAD_SIGNATURE, f"signature does not verify under serial {envelope.serial}")


class VerifyCache:
    """Remembers signature verdicts so N virtual terminals in one process verify a payload once.

    For the simulator only: a real terminal verifies every message itself, so a benchmark that
    uses this cache must also report the cost of one uncached verification (see bench_crypto.py).

    The trust-list checks (unknown, revoked, algorithm) run on every call against the list passed
    in; only the cryptographic verdict is cached, keyed by (serial, algorithm, public key,
    SHA-256 of the payload, signature). Bounded (least recently used out) and thread-safe.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize is at least 1")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._verdicts: OrderedDict[tuple[str, str, bytes, bytes, bytes], bool] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, envelope: Envelope, trust: TrustList) -> None:
        """Same contract as `envelope_verify`."""
        key = _trusted_key_for(envelope, trust)
        entry = (key.serial, key.alg, key.public_key, hashlib.sha256(envelope.payload).digest(), envelope.signature)
        with self._lock:
            verdict = self._verdicts.get(entry)
            if verdict is not None:
                self._verdicts.move_to_end(entry)
                self.hits += 1
        if verdict is None:
            verdict = crypto.verify(key.alg, key.public_key, envelope.payload, envelope.signature)
            with self._lock:
                self.misses += 1
                self._verdicts[entry] = verdict
                while len(self._verdicts) > self.maxsize:
                    self._verdicts.popitem(last=False)
        if not verdict:
            raise Rejected(BAD_SIGNATURE, f"signature does not verify under serial {envelope.serial}")

    def clear(self) -> None:
        with self._lock:
            self._verdicts.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._verdicts)


# ---------------------------------------------------------------------------- payload


def payload_parse(envelope: Envelope) -> dict[str, Any]:
    """Rule 4 of §4: the signed bytes are a JSON object with a string `kind`. Call after verifying."""
    try:
        payload = _strict_loads(envelope.payload)
    except (ValueError, RecursionError) as error:
        raise Rejected(MALFORMED, f"payload is not JSON: {error}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("kind"), str):
        raise Rejected(MALFORMED, "a payload is a JSON object with a string kind")
    return payload


def code_prefix(code: str) -> str:
    """The significant prefix of a well-formed 12-digit region code, read from its trailing zeros."""
    if code == NATIONAL_CODE:
        return ""
    for level in (5, 4, 3, 2):  # village, township, county, city
        if code[_PREFIX_LENGTHS[level - 1] : _PREFIX_LENGTHS[level]].strip("0"):
            return code[: _PREFIX_LENGTHS[level]]
    return code[:2]  # province


def area_covers(area_code: str, village_code: str) -> bool:
    """True when the village lies in the area (the area is the village or one of its ancestors)."""
    return village_code.startswith(code_prefix(area_code))


def covering_codes(village_code: str) -> list[str]:
    """The village and every ancestor, national root first: the region topics a terminal subscribes to.

    A city without counties (东莞 441900000000) is also its townships' county: listed once.
    """
    if not _is_digits(village_code, CODE_LENGTH):
        raise ValueError(f"a village code is 12 digits, not {village_code!r}")
    codes = [NATIONAL_CODE]
    for length in _PREFIX_LENGTHS[1:]:
        code = village_code[:length].ljust(CODE_LENGTH, "0")
        if code != codes[-1]:
            codes.append(code)
    return codes


def _parse_time(payload: dict[str, Any], name: str) -> datetime:
    value = payload.get(name)
    if not isinstance(value, str):
        raise Rejected(MALFORMED, f"{name} is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(MALFORMED, f"{name} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Rejected(MALFORMED, f"{name} has no UTC offset: {value!r}")
    return moment


def alert_check(
    payload: dict[str, Any],
    *,
    village_code: str,
    now: datetime,
    freshness: timedelta = DEFAULT_FRESHNESS,
) -> None:
    """Rules 5–6 of §4 for an alert addressed to a terminal in `village_code`.

    Raises Rejected: `malformed` when `kind`, `sent`, `expires` or `areas` is missing or wrong
    (rule 4 for the fields these rules read), `expired` when now > expires, `stale` when `sent` is
    older than `freshness` or more than 5 minutes ahead of `now`, `not_in_target` when no area
    covers the village. `now` must be timezone-aware (ValueError otherwise).
    """
    if not _is_digits(village_code, CODE_LENGTH):
        raise ValueError(f"a village code is 12 digits, not {village_code!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if payload.get("kind") != "alert":
        raise Rejected(MALFORMED, f"not an alert: kind {payload.get('kind')!r}")
    sent = _parse_time(payload, "sent")
    expires = _parse_time(payload, "expires")
    areas = payload.get("areas")
    if not isinstance(areas, list) or not areas or not all(_is_digits(area, CODE_LENGTH) for area in areas):
        raise Rejected(MALFORMED, "areas is a non-empty list of 12-digit region codes")
    if now > expires:
        raise Rejected(EXPIRED, f"expired at {expires.isoformat()}")
    if sent < now - freshness:
        raise Rejected(STALE, f"sent {sent.isoformat()}, older than {freshness}")
    if sent > now + FUTURE_TOLERANCE:
        raise Rejected(STALE, f"sent {sent.isoformat()}, in the future")
    if not any(area_covers(area, village_code) for area in areas):
        raise Rejected(NOT_IN_TARGET, f"village {village_code} is not in {', '.join(areas)}")


# ---------------------------------------------------------------------------- both ends


def seal_with(payload: dict[str, Any], *, alg: str, serial: str, sign: Callable[[bytes], bytes]) -> bytes:
    """Canonical JSON → `sign(bytes)` → envelope bytes. For signers that never reveal the private
    key (a crypto card, a key store); `seal` is this with a private key in memory."""
    data = canonical_json(payload)
    return envelope_encode(Envelope(payload=data, alg=alg, serial=serial, signature=sign(data)))


def seal(payload: dict[str, Any], *, alg: str, serial: str, private_key: bytes) -> bytes:
    """The envelope bytes of `payload` signed with `private_key` (key `serial`, algorithm `alg`)."""
    return seal_with(payload, alg=alg, serial=serial, sign=lambda data: crypto.sign(alg, private_key, data))


# An MQTT message is the envelope, optionally followed by this byte and an attachment: the raw audio
# an alert names in `audio.attached` (§3). Canonical JSON never contains a raw newline.
ATTACHMENT_SEPARATOR = b"\n"


def message_join(envelope: bytes, attachment: bytes | None = None) -> bytes:
    """The MQTT payload: the envelope, then the attachment (if any) after one newline."""
    if ATTACHMENT_SEPARATOR in envelope:
        raise ValueError("an envelope never contains a raw newline")
    return envelope if attachment is None else envelope + ATTACHMENT_SEPARATOR + attachment


def message_split(data: bytes | bytearray | memoryview) -> tuple[bytes, bytes | None]:
    """(envelope bytes, attachment or None) of an MQTT payload."""
    head, separator, tail = bytes(data).partition(ATTACHMENT_SEPARATOR)
    return head, (tail if separator else None)


def attached_audio(audio: Any, attachment: bytes | None) -> bytes | None:
    """The attachment, if the (verified) payload's `audio` says it is attached and it matches.

    Returns None when the audio is not attached (inline or by URL). Raises ValueError when it is
    attached but missing, of another length than `audio.bytes`, or not matching `audio.sha256`:
    the attachment is outside the signature, and only its signed hash makes it trustworthy.
    """
    if not isinstance(audio, dict) or audio.get("attached") is not True:
        return None
    if attachment is None:
        raise ValueError("the audio is attached but the message carries no attachment")
    if audio.get("bytes") != len(attachment):
        raise ValueError(f"the attachment is {len(attachment)} bytes, the payload says {audio.get('bytes')!r}")
    if hashlib.sha256(attachment).hexdigest() != audio.get("sha256"):
        raise ValueError("the attachment does not match audio.sha256")
    return attachment


def open_envelope(
    data: bytes, trust: TrustList, *, cache: VerifyCache | None = None
) -> tuple[Envelope, dict[str, Any]]:
    """Rules 1–4a of §4: decode, verify (through `cache` when given), parse, key usage. Raises Rejected.

    `data` is the whole MQTT payload; an attachment after the envelope is left for the caller
    (`message_split`, `attached_audio`)."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise Rejected(MALFORMED, f"message larger than {MAX_ENVELOPE_BYTES} bytes")
    envelope = envelope_decode(message_split(data)[0])
    if cache is None:
        envelope_verify(envelope, trust)
    else:
        cache.verify(envelope, trust)
    payload = payload_parse(envelope)
    usage_check(payload, trust.get(envelope.serial))
    return envelope, payload


def usage_check(payload: dict[str, Any], key: TrustedKey | None) -> None:
    """Rule 4a of §4: the key that signed may sign this kind of payload (its trust-list `usage`).

    Raises Rejected("key_usage"): a firmware key's signature on an alert, or an alert key's on a
    firmware manifest, verifies cryptographically and is refused all the same."""
    needed = usage_for(str(payload.get("kind")))
    if key is None or needed not in key.usage:
        serial = key.serial if key is not None else "?"
        raise Rejected(KEY_USAGE, f"key {serial} may not sign {payload.get('kind')!r} (usage {needed} needed)")


# ---------------------------------------------------------------------------- trust-list updates

TRUST_KIND = "trust"


SCHEDULE_KIND = "schedule"


def is_schedule(payload: dict[str, Any]) -> bool:
    """A signed effective-schedule document (docs/broadcasting.md), not an alert."""
    return payload.get("kind") == SCHEDULE_KIND


def is_trust_update(payload: dict[str, Any]) -> bool:
    """A signed trust-list update (docs/protocols.md §6), not an alert."""
    return payload.get("kind") == TRUST_KIND


def trust_update_apply(
    payload: dict[str, Any], *, current: TrustList, current_version: int, signer: str
) -> tuple[TrustList, int] | None:
    """The new trust list of a verified update, or None when it must be ignored.

    Ignored: an update not newer than what the terminal holds (a replay or a stale retained copy),
    or one whose own list does not keep the signing key trusted (a key cannot vouch for a list that
    revokes it). Adopted as `_as_granted` says: no new firmware key, no revocation undone. Raises
    Rejected("malformed") for a payload that is not a well-formed update.
    """
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
        raise Rejected(MALFORMED, "trust update without a positive integer version")
    try:
        updated = TrustList.from_list(payload.get("keys"))
    except ValueError as error:
        raise Rejected(MALFORMED, f"trust update: {error}") from None
    if version <= current_version:
        return None
    own = updated.get(signer)
    if own is None or own.revoked or current.get(signer) is None:
        return None
    return _as_granted(updated, current=current), version


def _as_granted(updated: TrustList, *, current: TrustList) -> TrustList:
    """The update as the terminal adopts it: an update, signed by a broadcast key, never makes a key
    a firmware key (only provisioning does), and never takes a revocation back.

    A key keeps the firmware usage it already held under the same public key; a firmware usage
    the terminal did not hold is dropped (the key stays listed, trusted for what else it has). So a
    stolen broadcast key cannot make its own firmware key, nor revive a revoked one (§6)."""
    keys = []
    for key in updated.keys:
        held = current.get(key.serial)
        same = held is not None and held.alg == key.alg and held.public_key == key.public_key
        firmware_held = same and held is not None and USAGE_FIRMWARE in held.usage
        usage = tuple(u for u in key.usage if u != USAGE_FIRMWARE or firmware_held)
        revoked = key.revoked or (held is not None and held.revoked)
        keys.append(TrustedKey(serial=key.serial, alg=key.alg, public_key=key.public_key, revoked=revoked, usage=usage))
    return TrustList(keys)
