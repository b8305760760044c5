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

By concern: `wire.py` (JSON, base64, the envelope, receipt reasons), `trust.py` (the trust list and
its updates), this module (payload rules, sealing, attachments); every public name of the three is
importable from here. None imports anything outside the standard library but `ruralcast_terminal.crypto`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ruralcast_terminal import crypto
from ruralcast_terminal.trust import (
    HANDOVER_KIND,
    TRUST_KIND,
    TRUST_VERSION_AHEAD_MS,
    TrustedKey,
    TrustList,
    VerifyCache,
    envelope_verify,
    handover_statement,
    is_trust_update,
    trust_update_apply,
)
from ruralcast_terminal.wire import (
    _PREFIX_LENGTHS,
    AUDIO_FAILED,
    BAD_SIGNATURE,
    CODE_LENGTH,
    DEFAULT_FRESHNESS,
    DEFAULT_USAGE,
    DRILL_PREAMBLE,
    DUPLICATE,
    EXPIRED,
    FUTURE_TOLERANCE,
    KEY_USAGE,
    MALFORMED,
    MAX_ENVELOPE_BYTES,
    NATIONAL_CODE,
    NOT_IN_TARGET,
    PROTOCOL_VERSION,
    REASONS,
    REVOKED_KEY,
    SERIAL_LENGTH,
    STALE,
    UNKNOWN_KEY,
    USAGE_BROADCAST,
    USAGE_FIRMWARE,
    Envelope,
    Rejected,
    _is_digits,
    _strict_loads,
    canonical_json,
    envelope_decode,
    envelope_encode,
    per_payload,
    usage_for,
)

__all__ = [
    "AUDIO_FAILED",
    "BAD_SIGNATURE",
    "CODE_LENGTH",
    "DEFAULT_FRESHNESS",
    "DEFAULT_USAGE",
    "DRILL_PREAMBLE",
    "DUPLICATE",
    "EXPIRED",
    "FUTURE_TOLERANCE",
    "HANDOVER_KIND",
    "KEY_USAGE",
    "MALFORMED",
    "MAX_ENVELOPE_BYTES",
    "NATIONAL_CODE",
    "NOT_IN_TARGET",
    "PROTOCOL_VERSION",
    "REASONS",
    "REVOKED_KEY",
    "SERIAL_LENGTH",
    "STALE",
    "TRUST_KIND",
    "TRUST_VERSION_AHEAD_MS",
    "UNKNOWN_KEY",
    "USAGE_BROADCAST",
    "USAGE_FIRMWARE",
    "Envelope",
    "Rejected",
    "TrustList",
    "TrustedKey",
    "VerifyCache",
    "canonical_json",
    "envelope_decode",
    "envelope_encode",
    "envelope_verify",
    "handover_statement",
    "is_trust_update",
    "trust_update_apply",
    "usage_for",
]


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


SCHEDULE_KIND = "schedule"


def is_schedule(payload: dict[str, Any]) -> bool:
    """A signed effective-schedule document (docs/broadcasting.md), not an alert."""
    return payload.get("kind") == SCHEDULE_KIND


# ---------------------------------------------------------------------------- drill preamble

# A preamble is a short spoken clip; anything bigger is not one (and would crowd the 1 MiB envelope).
MAX_PREAMBLE_BYTES = 128 * 1024


def is_drill(payload: dict[str, Any]) -> bool:
    """Anything but a real alert (Exercise, Test, Drill, …), or one flagged `drill`: announced as a drill."""
    return payload.get("status") != "Actual" or payload.get("drill") is True


@per_payload
def preamble_check(payload: dict[str, Any]) -> bytes | None:
    """The drill preamble a terminal must play before a drill's audio (§4 rule 7a), or None.

    None for a real alert (a preamble on one is never played: a real warning must not be called a
    drill) and for a Cancel (it plays nothing). A drill must carry `preamble`: `{"sha256", "bytes",
    "seconds", "mime", "inline"}` with the clip inline (base64) matching its signed SHA-256 and
    length; otherwise Rejected("drill_preamble"): a terminal that cannot announce a drill as one
    does not play it, whatever its audio says."""
    if not is_drill(payload) or payload.get("msg_type") == "Cancel":
        return None
    preamble = payload.get("preamble")
    if not isinstance(preamble, dict):
        raise Rejected(DRILL_PREAMBLE, "a drill without a drill preamble")
    inline, sha256, size = preamble.get("inline"), preamble.get("sha256"), preamble.get("bytes")
    if not (isinstance(inline, str) and inline and type(size) is int and 0 < size <= MAX_PREAMBLE_BYTES):
        raise Rejected(DRILL_PREAMBLE, "the drill preamble is not inline, or of no or too large a size")
    if not str(preamble.get("mime", "")).startswith("audio/"):
        raise Rejected(DRILL_PREAMBLE, f"the drill preamble is {preamble.get('mime')!r}, not audio")
    try:
        raw = base64.b64decode(inline, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(DRILL_PREAMBLE, "the drill preamble is not base64") from None
    if len(raw) != size or hashlib.sha256(raw).hexdigest() != sha256:
        raise Rejected(DRILL_PREAMBLE, "the drill preamble does not match its signed length and SHA-256")
    return raw
