"""Ed25519 and SM2-SM3 on raw bytes: round trips, forgeries, bad input, and the SM2 user id.

The SM2 checks include an independent verifier written from GB/T 32918.2 in plain Python (slow,
fine for a handful of checks). It pins what tongsuopy does about the user id: it signs SM3(Z‖M)
with Z computed from the GM/T 0009 default id 1234567812345678, which is what a vendor's terminal
(or a crypto card) following the standard will expect.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from ruralcast_terminal import crypto
from ruralcast_terminal.crypto import ALG_ED25519, ALG_SM2, ALGORITHMS

MESSAGE = "榕江县应急广播：请注意防范山洪。".encode()

# ---------------------------------------------------------------------------- reference SM2

# The recommended SM2 curve (GB/T 32918.5).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)


def _add(p1: tuple[int, int] | None, p2: tuple[int, int] | None) -> tuple[int, int] | None:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and (p1[1] + p2[1]) % P == 0:
        return None
    if p1 == p2:
        slope = (3 * p1[0] * p1[0] + A) * pow(2 * p1[1], -1, P) % P
    else:
        slope = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, P) % P
    x = (slope * slope - p1[0] - p2[0]) % P
    return x, (slope * (p1[0] - x) - p1[1]) % P


def _mul(k: int, point: tuple[int, int] | None) -> tuple[int, int] | None:
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _z(user_id: bytes, public: bytes) -> bytes:
    def b32(value: int) -> bytes:
        return value.to_bytes(32, "big")

    entl = (len(user_id) * 8).to_bytes(2, "big")
    return _sm3(entl + user_id + b32(A) + b32(B) + b32(G[0]) + b32(G[1]) + public[1:])


def reference_sm2_verify(public: bytes, data: bytes, signature: bytes, *, user_id: bytes | None) -> bool:
    """GB/T 32918.2 §7 verification; user_id None means 'no Z' (plain SM3 of the message)."""
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    point_a = (int.from_bytes(public[1:33], "big"), int.from_bytes(public[33:], "big"))
    e = int.from_bytes(_sm3(data if user_id is None else _z(user_id, public) + data), "big")
    t = (r + s) % N
    if t == 0:
        return False
    point = _add(_mul(s, G), _mul(t, point_a))
    return point is not None and (e + point[0]) % N == r


# ---------------------------------------------------------------------------- tests


@pytest.fixture(params=ALGORITHMS)
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_sign_then_verify_round_trips_with_documented_sizes(alg: str) -> None:
    private = crypto.generate_private_key(alg)
    public = crypto.public_key_of(alg, private)
    signature = crypto.sign(alg, private, MESSAGE)
    assert len(private) == 32
    assert len(public) == {ALG_ED25519: 32, ALG_SM2: 65}[alg]
    assert len(signature) == 64
    assert crypto.verify(alg, public, MESSAGE, signature)


def test_public_key_is_a_function_of_the_private_key(alg: str) -> None:
    private = crypto.generate_private_key(alg)
    assert crypto.public_key_of(alg, private) == crypto.public_key_of(alg, private)
    assert crypto.public_key_of(alg, private) != crypto.public_key_of(alg, crypto.generate_private_key(alg))


def test_a_signature_does_not_verify_for_other_data_or_another_key(alg: str) -> None:
    private = crypto.generate_private_key(alg)
    signature = crypto.sign(alg, private, MESSAGE)
    other_public = crypto.public_key_of(alg, crypto.generate_private_key(alg))
    assert not crypto.verify(alg, crypto.public_key_of(alg, private), MESSAGE + b" ", signature)
    assert not crypto.verify(alg, other_public, MESSAGE, signature)


def test_every_flipped_signature_byte_is_refused(alg: str) -> None:
    private = crypto.generate_private_key(alg)
    public = crypto.public_key_of(alg, private)
    signature = crypto.sign(alg, private, MESSAGE)
    for index in range(0, 64, 5):
        forged = bytearray(signature)
        forged[index] ^= 0x01
        assert not crypto.verify(alg, public, MESSAGE, bytes(forged))


@pytest.mark.parametrize(
    "signature",
    [b"", b"\x00" * 64, b"\xff" * 64, b"\x01" * 63, b"\x01" * 65, "not bytes"],
    ids=["empty", "zeros", "ones", "short", "long", "str"],
)
def test_verify_answers_false_for_garbage_signatures(alg: str, signature: bytes) -> None:
    public = crypto.public_key_of(alg, crypto.generate_private_key(alg))
    assert crypto.verify(alg, public, MESSAGE, signature) is False


@pytest.mark.parametrize(
    "public",
    [b"", b"\x04" + b"\x01" * 64, b"\x02" + b"\x01" * 32, b"\x00" * 32, b"\x05" * 65, None],
    ids=["empty", "sm2-point-off-curve", "compressed", "zeros", "bad-prefix", "none"],
)
def test_verify_answers_false_for_garbage_public_keys(alg: str, public: bytes) -> None:
    signature = crypto.sign(alg, crypto.generate_private_key(alg), MESSAGE)
    assert crypto.verify(alg, public, MESSAGE, signature) is False


def test_verify_answers_false_for_an_unknown_algorithm() -> None:
    private = crypto.generate_private_key(ALG_ED25519)
    signature = crypto.sign(ALG_ED25519, private, MESSAGE)
    assert crypto.verify("RSA", crypto.public_key_of(ALG_ED25519, private), MESSAGE, signature) is False


def test_warm_up_signs_and_verifies_with_every_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    real_verify = crypto.verify

    def counting_verify(alg: str, public: bytes, data: bytes, signature: bytes) -> bool:
        used.append(alg)
        return real_verify(alg, public, data, signature)

    monkeypatch.setattr(crypto, "verify", counting_verify)
    crypto.warm_up()
    assert used == list(ALGORITHMS)


def test_warm_up_refuses_a_library_that_cannot_verify_its_own_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "verify", lambda *_args: False)
    with pytest.raises(RuntimeError, match="does not verify its own signature"):
        crypto.warm_up()


def test_the_two_algorithms_do_not_accept_each_others_signatures() -> None:
    ed_private = crypto.generate_private_key(ALG_ED25519)
    sm_private = crypto.generate_private_key(ALG_SM2)
    ed_signature = crypto.sign(ALG_ED25519, ed_private, MESSAGE)
    assert not crypto.verify(ALG_SM2, crypto.public_key_of(ALG_SM2, sm_private), MESSAGE, ed_signature)


@pytest.mark.parametrize(
    ("alg", "private"),
    [
        ("RSA", b"\x01" * 32),
        (ALG_ED25519, b"\x01" * 31),
        (ALG_SM2, b"\x00" * 32),
        (ALG_SM2, (N - 1).to_bytes(32, "big")),
        (ALG_SM2, b"\xff" * 32),
    ],
    ids=["unknown-alg", "short", "sm2-zero", "sm2-n-minus-1", "sm2-above-n"],
)
def test_bad_private_keys_raise_value_error(alg: str, private: bytes) -> None:
    with pytest.raises(ValueError):
        crypto.sign(alg, private, MESSAGE)


def test_sm2_signature_is_standard_r_s_with_the_default_user_id() -> None:
    private = crypto.generate_private_key(ALG_SM2)
    public = crypto.public_key_of(ALG_SM2, private)
    assert public[0] == 0x04
    # The private key is the scalar d and the public key the point d·G.
    assert _mul(int.from_bytes(private, "big"), G) == (
        int.from_bytes(public[1:33], "big"),
        int.from_bytes(public[33:], "big"),
    )
    signature = crypto.sign(ALG_SM2, private, MESSAGE)
    assert reference_sm2_verify(public, MESSAGE, signature, user_id=b"1234567812345678")
    assert not reference_sm2_verify(public, MESSAGE, signature, user_id=None)
    assert not reference_sm2_verify(public, MESSAGE, signature, user_id=b"")


def test_sm2_accepts_a_signature_made_by_the_reference_algorithm() -> None:
    """A signature computed from the standard alone (fixed k) verifies: interoperable both ways."""
    private = crypto.generate_private_key(ALG_SM2)
    public = crypto.public_key_of(ALG_SM2, private)
    d = int.from_bytes(private, "big")
    e = int.from_bytes(_sm3(_z(crypto.SM2_DEFAULT_USER_ID, public) + MESSAGE), "big")
    k = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF
    point = _mul(k, G)
    assert point is not None
    r = (e + point[0]) % N
    s = pow(1 + d, -1, N) * (k - r * d) % N
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert crypto.verify(ALG_SM2, public, MESSAGE, signature)
    assert not crypto.verify(ALG_SM2, public, MESSAGE + b"!", signature)
