"""Signatures for the alert envelope: Ed25519 and SM2 with SM3, as raw bytes on both ends.

Two algorithms, one shape (docs/protocols.md §3):

| alg        | private key (our serialisation)   | public key                            | signature       |
|------------|-----------------------------------|---------------------------------------|-----------------|
| `Ed25519`  | raw 32-byte seed (RFC 8032)       | raw 32 bytes                          | 64 bytes        |
| `SM2-SM3`  | 32-byte big-endian scalar d       | 65-byte uncompressed point 04‖x‖y     | 64 bytes r‖s    |

Ed25519 comes from `cryptography`; SM2 from `tongsuopy` (Tongsuo, the OpenSSL fork of the
Chinese commercial algorithms), an optional extra of this package (`pip install
'ruralcast-terminal[sm2]'`): it has no wheels for Linux on ARM, and a device that only ever sees
Ed25519 keys must not need it. It is imported on the first SM2 operation; without it every SM2
operation raises `SM2Unavailable`, which names the extra, and Ed25519 works as before (the platform
itself always installs tongsuopy). tongsuopy's SM2 signature is the GB/T 32918.2 one: it hashes
`Z‖M` with SM3, where Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA) and ID is the GM/T 0009 default user id
`1234567812345678`. tongsuopy sets that id itself and offers no way to pass another; the test
suite pins this by checking tongsuopy's signatures with an independent pure-Python verifier.
tongsuopy speaks DER-encoded (r, s); the wire carries the fixed 64-byte r‖s, converted here.

`verify` never raises on bad input (wrong lengths, a point off the curve, garbage): it answers
False. The other functions raise ValueError on bad keys or an unknown algorithm. A missing SM2
library is not bad input but a device set up without the extra: `SM2Unavailable`, from `verify`
too, so the device's log says what to install instead of reporting forged signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ALG_ED25519 = "Ed25519"
ALG_SM2 = "SM2-SM3"
ALGORITHMS: tuple[str, ...] = (ALG_ED25519, ALG_SM2)

SIGNATURE_LENGTH = 64
PRIVATE_KEY_LENGTH = 32
PUBLIC_KEY_LENGTH: dict[str, int] = {ALG_ED25519: 32, ALG_SM2: 65}

# The order n of the SM2 base point (GB/T 32918.5); a private key d lies in [1, n-2].
SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_DEFAULT_USER_ID = b"1234567812345678"  # applied by tongsuopy itself; documented, not passed

SM2_EXTRA = "ruralcast-terminal[sm2]"


class SM2Unavailable(RuntimeError):
    """SM2-SM3 was asked for on an installation without tongsuopy (the `sm2` extra)."""


@dataclass(frozen=True)
class _SM2:
    """tongsuopy's pieces this module uses, imported once, on the first SM2 operation."""

    ec: Any  # tongsuopy.crypto.asymciphers.ec
    serialization: Any  # tongsuopy.crypto.serialization
    signature_algorithm: Any  # ECDSA over SM3: tongsuopy's name for the SM2 signature


@cache
def _sm2() -> _SM2:
    # Imported here, not at the top: tongsuopy is an optional dependency (see the module docstring).
    try:
        from tongsuopy.crypto import hashes, serialization
        from tongsuopy.crypto.asymciphers import ec
    except ImportError as error:
        raise SM2Unavailable(
            f"{ALG_SM2} signatures need tongsuopy, which this installation lacks: "
            f"pip install '{SM2_EXTRA}' (or have the platform sign with {ALG_ED25519})"
        ) from error
    return _SM2(ec=ec, serialization=serialization, signature_algorithm=ec.ECDSA(hashes.SM3()))


def sm2_available() -> bool:
    """True when SM2-SM3 can be used here (tongsuopy is installed)."""
    try:
        _sm2()
    except SM2Unavailable:
        return False
    return True


def _check_alg(alg: str) -> None:
    if alg not in ALGORITHMS:
        raise ValueError(f"unknown signature algorithm {alg!r}; expected one of {', '.join(ALGORITHMS)}")


def _check_private(private: bytes) -> None:
    if not isinstance(private, bytes) or len(private) != PRIVATE_KEY_LENGTH:
        raise ValueError(f"a private key is {PRIVATE_KEY_LENGTH} bytes")


@lru_cache(maxsize=64)
def _sm2_private(private: bytes) -> Any:
    ec = _sm2().ec
    scalar = int.from_bytes(private, "big")
    if not 1 <= scalar <= SM2_ORDER - 2:
        raise ValueError("an SM2 private key is a scalar in [1, n-2]")
    return ec.derive_private_key(scalar, ec.SM2())


@lru_cache(maxsize=1024)
def _sm2_public(public: bytes) -> Any:
    # Loading a point costs about as much as half a verification; terminals verify with a handful
    # of keys, so they are cached (the cache holds public material only).
    ec = _sm2().ec
    if len(public) != PUBLIC_KEY_LENGTH[ALG_SM2] or public[0] != 0x04:
        raise ValueError("an SM2 public key is the 65-byte uncompressed point 04‖x‖y")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), public)


@lru_cache(maxsize=1024)
def _ed25519_public(public: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public)


def generate_private_key(alg: str) -> bytes:
    """A new private key in our serialisation (see the module docstring)."""
    _check_alg(alg)
    if alg == ALG_ED25519:
        return Ed25519PrivateKey.generate().private_bytes_raw()
    ec = _sm2().ec
    key = ec.generate_private_key(ec.SM2())
    return int(key.private_numbers().private_value).to_bytes(PRIVATE_KEY_LENGTH, "big")


def public_key_of(alg: str, private: bytes) -> bytes:
    """The public key for `private`: raw 32 bytes (Ed25519) or the 65-byte point 04‖x‖y (SM2)."""
    _check_alg(alg)
    _check_private(private)
    if alg == ALG_ED25519:
        return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()
    serialization = _sm2().serialization
    point: bytes = (
        _sm2_private(private)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return point


def sign(alg: str, private: bytes, data: bytes) -> bytes:
    """The 64-byte signature of `data`: RFC 8032 Ed25519, or SM2-SM3 as r‖s."""
    _check_alg(alg)
    _check_private(private)
    if alg == ALG_ED25519:
        return Ed25519PrivateKey.from_private_bytes(private).sign(data)
    der = _sm2_private(private).sign(data, _sm2().signature_algorithm)
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def warm_up() -> None:
    """Sign and verify once with every algorithm, so the first real message does not pay the set-up.

    The first SM2 operation in a process loads the library's curve and digest tables: ~15 ms here
    against ~0.3 ms for each verification after it (more on a terminal's small CPU). Agents,
    simulators and the dispatcher call this at start, before they connect, not when an alert is due.
    Without the `sm2` extra only Ed25519 is warmed (there is no SM2 to warm).
    """
    for alg in available_algorithms():
        private = generate_private_key(alg)
        if not verify(alg, public_key_of(alg, private), b"warm-up", sign(alg, private, b"warm-up")):
            raise RuntimeError(f"{alg} does not verify its own signature: the crypto library is broken")


def available_algorithms() -> tuple[str, ...]:
    """The algorithms this installation can use: Ed25519 always, SM2-SM3 with the `sm2` extra."""
    return ALGORITHMS if sm2_available() else (ALG_ED25519,)


def verify(alg: str, public: bytes, data: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid signature of `data` under `public`; False for anything else.

    Raises SM2Unavailable for an SM2 signature on an installation without the `sm2` extra.
    """
    if alg == ALG_SM2:
        _sm2()  # outside the try: a missing library is no bad input (SM2Unavailable)
    try:
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
            return False
        if not isinstance(public, bytes) or not isinstance(data, bytes | bytearray | memoryview):
            return False
        if alg == ALG_ED25519:
            _ed25519_public(public).verify(signature, bytes(data))
            return True
        if alg == ALG_SM2:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            if not (0 < r < SM2_ORDER and 0 < s < SM2_ORDER):
                return False
            _sm2_public(public).verify(encode_dss_signature(r, s), bytes(data), _sm2().signature_algorithm)
            return True
        return False
    except InvalidSignature:
        return False
    except Exception:  # noqa: BLE001 — odd input (a point off the curve) raises assorted errors in both libraries
        return False
