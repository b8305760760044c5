"""The wire layer of the v1 contract (docs/protocols.md §3–§4): strict JSON, canonical base64, the
envelope, and the receipt reasons every refusal carries.

Split out of `protocol.py` (which re-exports every public name here): the trust list (`trust.py`)
and the payload rules (`protocol.py`) both build on it. Standard library and `crypto` only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeGuard, TypeVar

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
# A drill/test/exercise the terminal cannot announce as one: no drill preamble, or not the signed one.
DRILL_PREAMBLE = "drill_preamble"
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
    DRILL_PREAMBLE,
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


_T = TypeVar("_T")


def per_payload(check: Callable[[dict[str, Any]], _T]) -> Callable[[dict[str, Any]], _T]:
    """Remember `check`'s verdict (its result, or the Rejected it raised) for the last payload it saw.

    A check that reads only the payload gives the same answer for the same payload: the simulator
    hands one opened payload to thousands of virtual terminals, each deciding through the same
    router, so a check of the message itself (its drill preamble, its languages) is done once per
    message instead of once per terminal. Keyed on the object itself, held until the next payload:
    a payload is never changed after it is opened (the router's contract), so the verdict cannot go
    stale, and a device (one terminal) pays nothing for it."""
    last: list[Any] = [None, None, None]  # payload, result, Rejected

    def remembered(payload: dict[str, Any]) -> _T:
        seen, result, rejected = last
        if seen is not payload:
            try:
                result, rejected = check(payload), None
            except Rejected as error:
                result, rejected = None, error
            last[:] = [payload, result, rejected]
        if rejected is not None:
            raise rejected
        return result  # type: ignore[no-any-return]

    remembered.__doc__, remembered.__name__ = check.__doc__, check.__name__
    remembered.__wrapped__ = check  # type: ignore[attr-defined]
    return remembered


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
