"""The trust list of a terminal (docs/protocols.md §6): which keys it accepts signatures from, for
what usage, and how a signed trust-list update changes it.

Split out of `protocol.py` (which re-exports every public name here). Standard library, `crypto`
and `wire` only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruralcast_terminal import crypto
from ruralcast_terminal.wire import (
    BAD_SIGNATURE,
    DEFAULT_USAGE,
    MALFORMED,
    REVOKED_KEY,
    SERIAL_LENGTH,
    STALE,
    UNKNOWN_KEY,
    USAGE_BROADCAST,
    USAGE_FIRMWARE,
    Envelope,
    Rejected,
    _b64decode,
    _b64encode,
    _is_digits,
    _strict_loads,
    canonical_json,
)


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


# ---------------------------------------------------------------------------- trust-list updates (§6)

TRUST_KIND = "trust"


def is_trust_update(payload: dict[str, Any]) -> bool:
    """A signed trust-list update (docs/protocols.md §6), not an alert."""
    return payload.get("kind") == TRUST_KIND


# The highest trust-list version a terminal adopts, ahead of its (corrected) clock: versions are
# milliseconds since the epoch (the platform's clock at the change), so a legitimate update is never
# more than clock error ahead. Without a bound, one update signed with a stolen, still-trusted key at
# version 2**62 would make every later, genuine update "not newer" for ever (§6).
TRUST_VERSION_AHEAD_MS = 10 * 60 * 1000

# What a successor key signs in a hand-over (§6): the outgoing key signs the list that revokes it,
# and the successor signs this statement, proving it holds its private key.
HANDOVER_KIND = "trust_handover"


def handover_statement(*, from_serial: str, to_serial: str, version: int) -> bytes:
    """The bytes a successor key signs to accept a hand-over from `from_serial` at `version`."""
    return canonical_json({"kind": HANDOVER_KIND, "from": from_serial, "to": to_serial, "version": version})


def _handed_over(payload: dict[str, Any], *, updated: TrustList, signer: str, version: int) -> bool:
    """True when the update is a cross-signed hand-over from `signer`: it names a successor that the
    new list trusts for broadcast, and the successor's signature over the hand-over verifies."""
    handover = payload.get("handover")
    if not isinstance(handover, dict):
        return False
    to_serial = handover.get("to")
    successor = updated.get(to_serial) if isinstance(to_serial, str) else None
    if successor is None or successor.revoked or successor.serial == signer:
        return False
    if USAGE_BROADCAST not in successor.usage:
        return False
    try:
        signature = _b64decode(handover.get("sig"))
    except ValueError:
        return False
    statement = handover_statement(from_serial=signer, to_serial=successor.serial, version=version)
    return crypto.verify(successor.alg, successor.public_key, statement, signature)


def trust_update_apply(
    payload: dict[str, Any], *, current: TrustList, current_version: int, signer: str, now_ms: int
) -> tuple[TrustList, int] | None:
    """The new trust list of a verified update, or None when it must be ignored.

    Ignored: an update not newer than what the terminal holds (a replay or a stale retained copy),
    or one whose own list does not keep the signing key trusted (a key cannot vouch for a list that
    revokes it) — unless it is a cross-signed hand-over (`handover`: the successor's signature over
    `handover_statement`), which is how revoking the active key reaches terminals that do not know
    its successor yet. Adopted as `_as_granted` says: no new firmware key, no revocation undone.
    Raises Rejected("malformed") for a payload that is not a well-formed update, Rejected("stale")
    for a version more than TRUST_VERSION_AHEAD_MS ahead of `now_ms` (the terminal's corrected
    clock, ms since the epoch).
    """
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
        raise Rejected(MALFORMED, "trust update without a positive integer version")
    try:
        updated = TrustList.from_list(payload.get("keys"))
    except ValueError as error:
        raise Rejected(MALFORMED, f"trust update: {error}") from None
    if version > now_ms + TRUST_VERSION_AHEAD_MS:
        raise Rejected(STALE, f"version {version} is more than {TRUST_VERSION_AHEAD_MS} ms ahead of {now_ms}")
    if version <= current_version:
        return None
    own = updated.get(signer)
    if own is None or current.get(signer) is None:
        return None
    if own.revoked and not _handed_over(payload, updated=updated, signer=signer, version=version):
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
