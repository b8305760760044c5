"""The v1 wire contract (docs/protocols.md §3–§6) as a terminal applies it, rule by rule.

Places (榕江县, Guizhou): county 522632000000, township 古州镇 522632100000 and its village
大十字社区 522632100001 (the terminal's home), the neighbouring village 梨子园社区 522632100002
and the neighbouring township 忠诚镇 522632101000.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from ruralcast_terminal import crypto
from ruralcast_terminal.crypto import ALG_ED25519, ALG_SM2, ALGORITHMS
from ruralcast_terminal.protocol import (
    MAX_ENVELOPE_BYTES,
    NATIONAL_CODE,
    Envelope,
    Rejected,
    TrustedKey,
    TrustList,
    VerifyCache,
    alert_check,
    area_covers,
    attached_audio,
    canonical_json,
    code_prefix,
    covering_codes,
    envelope_decode,
    envelope_encode,
    envelope_verify,
    message_join,
    message_split,
    open_envelope,
    seal,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=CST)
VILLAGE = "522632100001"  # 大十字社区
NEIGHBOUR_VILLAGE = "522632100002"  # 梨子园社区
TOWNSHIP = "522632100000"  # 古州镇
NEIGHBOUR_TOWNSHIP = "522632101000"  # 忠诚镇
COUNTY = "522632000000"  # 榕江县
NEIGHBOUR_COUNTY = "522633000000"  # 从江县
PROVINCE = "520000000000"  # 贵州省

SERIALS = {ALG_ED25519: "202611270001", ALG_SM2: "202611270002"}


class Signer:
    """A platform key for the tests: its serial, algorithm and private key."""

    def __init__(self, alg: str, serial: str) -> None:
        self.alg, self.serial = alg, serial
        self.private = crypto.generate_private_key(alg)
        self.public = crypto.public_key_of(alg, self.private)

    def trusted(self, *, revoked: bool = False) -> TrustedKey:
        return TrustedKey(serial=self.serial, alg=self.alg, public_key=self.public, revoked=revoked)

    def seal(self, payload: dict) -> bytes:
        return seal(payload, alg=self.alg, serial=self.serial, private_key=self.private)


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    return {alg: Signer(alg, serial) for alg, serial in SERIALS.items()}


@pytest.fixture(params=ALGORITHMS)
def signer(request: pytest.FixtureRequest, signers: dict[str, Signer]) -> Signer:
    return signers[request.param]


@pytest.fixture
def trust(signers: dict[str, Signer]) -> TrustList:
    return TrustList(s.trusted() for s in signers.values())


def alert(**changes: object) -> dict:
    payload: dict = {
        "kind": "alert",
        "ebm_id": "45226320000000101010101202611270001",
        "cap_id": "urn:ruralcast:45226320000000101010101:45226320000000101010101202611270001",
        "sender": "45226320000000101010101",
        "sender_name": "榕江县应急广播平台",
        "sent": "2026-11-27T11:58:00+08:00",
        "status": "Actual",
        "msg_type": "Alert",
        "references": [],
        "scope": "Public",
        "event": "11B03",
        "severity": 2,
        "urgency": "Immediate",
        "certainty": "Likely",
        "onset": "2026-11-27T12:00:00+08:00",
        "expires": "2026-11-27T18:00:00+08:00",
        "areas": [COUNTY],
        "language": "zho",
        "title": "山洪预警",
        "text": "榕江县应急广播：请注意防范山洪。",
        "audio": None,
        "volume": 80,
        "repeat": 3,
        "drill": False,
    }
    payload.update(changes)
    return payload


def reason_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(Rejected) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason


def envelope_json(signer: Signer, payload: dict | None = None) -> dict:
    return json.loads(signer.seal(payload or alert()))


def as_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


# ---------------------------------------------------------------------------- canonical JSON


def test_canonical_json_sorts_keys_drops_white_space_and_keeps_chinese_as_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": None, "c": True}], "名": "榕江"}) == (
        '{"a":[1,{"c":true,"d":null}],"b":1,"名":"榕江"}'.encode()
    )


def test_canonical_json_is_the_same_whatever_the_insertion_order() -> None:
    shuffled = dict(sorted(alert().items(), key=lambda item: random.Random(7).random()))
    assert canonical_json(shuffled) == canonical_json(alert())
    assert canonical_json(alert()) == canonical_json(json.loads(canonical_json(alert())))


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# ---------------------------------------------------------------------------- envelope round trips


def test_a_sealed_alert_opens_with_the_same_payload(signer: Signer, trust: TrustList) -> None:
    envelope, payload = open_envelope(signer.seal(alert()), trust)
    assert payload == alert()
    assert envelope.payload == canonical_json(alert())
    assert (envelope.alg, envelope.serial, len(envelope.signature)) == (signer.alg, signer.serial, 64)


def test_the_envelope_carries_the_signed_bytes_in_base64(signer: Signer) -> None:
    document = envelope_json(signer)
    assert document["v"] == 1
    assert base64.b64decode(document["payload"]) == canonical_json(alert())
    assert document["sig"]["alg"] == signer.alg
    assert document["sig"]["serial"] == signer.serial
    assert len(base64.b64decode(document["sig"]["value"])) == 64


def test_envelope_encode_and_decode_are_inverse(signer: Signer) -> None:
    envelope = Envelope(payload=b'{"kind":"x"}', alg=signer.alg, serial=signer.serial, signature=bytes(range(64)))
    assert envelope_decode(envelope_encode(envelope)) == envelope


def test_envelope_encode_refuses_what_the_contract_forbids() -> None:
    with pytest.raises(ValueError):
        envelope_encode(Envelope(payload=b"{}", alg="RSA", serial="202611270001", signature=b""))
    with pytest.raises(ValueError):
        envelope_encode(Envelope(payload=b"{}", alg=ALG_ED25519, serial="2026", signature=b""))


# ---------------------------------------------------------------------------- rules 2–3: keys, signature


def test_a_forged_signature_is_refused(signer: Signer, trust: TrustList) -> None:
    document = envelope_json(signer)
    forged = bytearray(base64.b64decode(document["sig"]["value"]))
    forged[10] ^= 0x40
    document["sig"]["value"] = base64.b64encode(bytes(forged)).decode()
    assert reason_of(open_envelope, as_bytes(document), trust) == "bad_signature"


def test_a_signature_by_a_stranger_under_a_trusted_serial_is_refused(signer: Signer, trust: TrustList) -> None:
    impostor = Signer(signer.alg, signer.serial)
    assert reason_of(open_envelope, impostor.seal(alert()), trust) == "bad_signature"


def test_a_tampered_payload_byte_is_refused(signer: Signer, trust: TrustList) -> None:
    document = envelope_json(signer)
    payload = canonical_json(alert()).replace(COUNTY.encode(), NEIGHBOUR_COUNTY.encode())
    document["payload"] = base64.b64encode(payload).decode()
    assert reason_of(open_envelope, as_bytes(document), trust) == "bad_signature"


def test_every_single_payload_byte_is_covered_by_the_signature(signer: Signer, trust: TrustList) -> None:
    envelope = envelope_decode(signer.seal(alert()))
    for index in range(0, len(envelope.payload), 37):
        tampered = bytearray(envelope.payload)
        tampered[index] ^= 0x01
        changed = Envelope(bytes(tampered), envelope.alg, envelope.serial, envelope.signature)
        assert reason_of(envelope_verify, changed, trust) == "bad_signature"


def test_an_unknown_serial_is_refused(signer: Signer, trust: TrustList) -> None:
    stranger = Signer(signer.alg, "209912310001")
    assert reason_of(open_envelope, stranger.seal(alert()), trust) == "unknown_key"


def test_a_revoked_key_is_refused_even_with_a_good_signature(signer: Signer, signers: dict[str, Signer]) -> None:
    trust = TrustList(s.trusted(revoked=s is signer) for s in signers.values())
    assert reason_of(open_envelope, signer.seal(alert()), trust) == "revoked_key"


def test_an_envelope_naming_another_algorithm_than_the_key_is_refused(signers: dict[str, Signer]) -> None:
    sm2, ed = signers[ALG_SM2], signers[ALG_ED25519]
    # Signed with the Ed25519 key but presented under the SM2 key's serial, and the other way round.
    lying = seal(alert(), alg=ALG_ED25519, serial=sm2.serial, private_key=ed.private)
    trust = TrustList([sm2.trusted(), ed.trusted()])
    assert reason_of(open_envelope, lying, trust) == "bad_signature"
    envelope = envelope_decode(sm2.seal(alert()))
    relabelled = Envelope(envelope.payload, ALG_ED25519, envelope.serial, envelope.signature)
    assert reason_of(envelope_verify, relabelled, trust) == "bad_signature"


def test_the_signature_is_checked_before_the_payload_is_parsed(signer: Signer, trust: TrustList) -> None:
    envelope = Envelope(b"not json at all", signer.alg, signer.serial, b"\x00" * 64)
    assert reason_of(open_envelope, envelope_encode(envelope), trust) == "bad_signature"


# ---------------------------------------------------------------------------- rule 1 and 4: malformed


def _good(signer: Signer) -> dict:
    return envelope_json(signer)


def _with(document: dict, path: tuple[str, ...], value: object) -> dict:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


_DELETE = object()

MALFORMED_DOCUMENTS = {
    "v-2": (("v",), 2),
    "v-string": (("v",), "1"),
    "v-true": (("v",), True),
    "v-float": (("v",), 1.0),
    "v-missing": (("v",), _DELETE),
    "payload-missing": (("payload",), _DELETE),
    "payload-number": (("payload",), 12),
    "payload-not-base64": (("payload",), "***"),
    "payload-urlsafe-base64": (("payload",), "-_-_"),
    "payload-unpadded": (("payload",), "e30"),
    "payload-noncanonical": (("payload",), "e31="),
    "sig-missing": (("sig",), _DELETE),
    "sig-list": (("sig",), []),
    "alg-unknown": (("sig", "alg"), "RSA-SHA256"),
    "alg-missing": (("sig", "alg"), _DELETE),
    "serial-short": (("sig", "serial"), "20261127001"),
    "serial-number": (("sig", "serial"), 202611270001),
    "serial-fullwidth-digits": (("sig", "serial"), "２０２６１１２７０００１"),
    "value-missing": (("sig", "value"), _DELETE),
    "value-not-base64": (("sig", "value"), "@@@@"),
}


@pytest.mark.parametrize(("path", "value"), MALFORMED_DOCUMENTS.values(), ids=MALFORMED_DOCUMENTS.keys())
def test_envelopes_with_wrong_members_are_malformed(signer: Signer, path: tuple[str, ...], value: object) -> None:
    assert reason_of(envelope_decode, as_bytes(_with(_good(signer), path, value))) == "malformed"


MALFORMED_BYTES = {
    "empty": b"",
    "not-json": b"hello",
    "array": b"[]",
    "string": b'"v"',
    "truncated": b'{"v":1,"payload":"e30=","sig":{',
    "latin-1": '{"v":1,"payload":"e30=","sig":{"alg":"Ed25519","serial":"202611270001","value":"é"}}'.encode("latin-1"),
    "duplicate-key": b'{"v":1,"v":1,"payload":"e30=","sig":{"alg":"Ed25519","serial":"202611270001","value":""}}',
    "nan": b'{"v":NaN}',
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("data", MALFORMED_BYTES.values(), ids=MALFORMED_BYTES.keys())
def test_bytes_that_are_not_an_envelope_are_malformed(data: bytes) -> None:
    assert reason_of(envelope_decode, data) == "malformed"


def test_an_envelope_over_one_mebibyte_is_malformed_before_parsing(signer: Signer, trust: TrustList) -> None:
    big = signer.seal(alert(text="广" * (MAX_ENVELOPE_BYTES // 3)))
    assert len(big) > MAX_ENVELOPE_BYTES
    assert reason_of(open_envelope, big, trust) == "malformed"


def test_an_attachment_after_the_envelope_is_kept_apart_from_the_signed_bytes(signer: Signer, trust: TrustList) -> None:
    audio = bytes(range(256)) * 4  # raw bytes, newlines included
    payload = alert(audio={"sha256": hashlib.sha256(audio).hexdigest(), "bytes": len(audio), "attached": True})
    envelope = signer.seal(payload)
    message = message_join(envelope, audio)
    assert message_split(message) == (envelope, audio)
    assert message_split(envelope) == (envelope, None)
    opened = open_envelope(message, trust)[1]
    assert opened == payload
    assert attached_audio(opened["audio"], audio) == audio


@pytest.mark.parametrize(
    ("attachment", "problem"),
    [(None, "no attachment"), (b"short", "bytes"), (b"X" * 1024, "sha256")],
    ids=["missing", "wrong length", "swapped"],
)
def test_an_attached_audio_must_be_there_and_match_its_signed_length_and_hash(
    attachment: bytes | None, problem: str
) -> None:
    audio = b"A" * 1024
    meta = {"sha256": hashlib.sha256(audio).hexdigest(), "bytes": len(audio), "attached": True}
    with pytest.raises(ValueError, match=problem):
        attached_audio(meta, attachment)
    assert attached_audio({**meta, "attached": False}, attachment) is None  # inline or by URL instead


def test_an_envelope_never_contains_a_raw_newline(signer: Signer) -> None:
    assert b"\n" not in signer.seal(alert(text="第一行\n第二行"))  # escaped inside the JSON string
    with pytest.raises(ValueError):
        message_join(b'{"v": 1,\n}', b"x")


def test_a_message_with_its_attachment_over_one_mebibyte_is_malformed(signer: Signer, trust: TrustList) -> None:
    message = message_join(signer.seal(alert()), b"\0" * MAX_ENVELOPE_BYTES)
    assert reason_of(open_envelope, message, trust) == "malformed"


def test_something_other_than_bytes_is_malformed() -> None:
    assert reason_of(envelope_decode, "{}") == "malformed"  # type: ignore[arg-type]


def test_unknown_envelope_members_are_ignored(signer: Signer, trust: TrustList) -> None:
    document = _with(_good(signer), ("note",), "added by a relay")
    assert open_envelope(as_bytes(document), trust)[1] == alert()


def test_fuzzed_envelopes_are_refused_with_a_receipt_reason_never_a_crash(signer: Signer, trust: TrustList) -> None:
    original = signer.seal(alert())
    rng = random.Random(20261127)
    outcomes: set[str] = set()
    for _ in range(400):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            choice = rng.random()
            position = rng.randrange(len(data))
            if choice < 0.5:
                data[position] = rng.randrange(256)
            elif choice < 0.75:
                del data[position]
            else:
                data.insert(position, rng.randrange(256))
        try:
            _, payload = open_envelope(bytes(data), trust)
        except Rejected as rejected:
            outcomes.add(rejected.reason)
        else:
            assert payload == alert()  # only a change the signature does not cover, e.g. white space
    assert outcomes <= {"malformed", "unknown_key", "bad_signature"}
    assert "malformed" in outcomes


def test_signed_bytes_that_are_not_a_json_object_with_a_kind_are_malformed(signer: Signer, trust: TrustList) -> None:
    for payload in (b"[1,2]", b"\xff\xfe", b'{"kind":1}', b'{"text":"x"}', b'{"kind":"alert","kind":"cmd"}'):
        sealed = envelope_encode(
            Envelope(payload, signer.alg, signer.serial, crypto.sign(signer.alg, signer.private, payload))
        )
        assert reason_of(open_envelope, sealed, trust) == "malformed"


# ---------------------------------------------------------------------------- rules 5–6: time and place


def check(payload: dict, *, village: str = VILLAGE, now: datetime = NOW, **kwargs: object) -> None:
    alert_check(payload, village_code=village, now=now, **kwargs)  # type: ignore[arg-type]


def test_a_fresh_alert_for_the_county_is_accepted_in_its_village() -> None:
    check(alert())


def test_an_alert_is_accepted_up_to_the_second_it_expires() -> None:
    check(alert(), now=datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # 18:00 +08:00


def test_an_expired_alert_is_refused() -> None:
    assert reason_of(check, alert(expires="2026-11-27T11:59:59+08:00")) == "expired"
    assert reason_of(check, alert(), now=datetime(2026, 11, 27, 10, 0, 1, tzinfo=UTC)) == "expired"


def test_an_alert_sent_more_than_a_day_ago_is_stale() -> None:
    old = alert(sent="2026-11-26T11:59:00+08:00", expires="2026-12-31T00:00:00+08:00")
    assert reason_of(check, old) == "stale"
    check(old, freshness=timedelta(hours=25))


def test_an_alert_dated_more_than_five_minutes_ahead_is_stale() -> None:
    assert reason_of(check, alert(sent="2026-11-27T12:05:01+08:00")) == "stale"
    check(alert(sent="2026-11-27T12:05:00+08:00"))  # clock skew within 5 minutes is tolerated


def test_times_in_other_offsets_compare_as_instants() -> None:
    check(alert(sent="2026-11-27T03:58:00Z", expires="2026-11-27T10:00:00+00:00"))
    assert reason_of(check, alert(expires="2026-11-27T03:59:00Z")) == "expired"


def test_an_alert_for_the_neighbouring_village_is_not_for_us() -> None:
    assert reason_of(check, alert(areas=[NEIGHBOUR_VILLAGE])) == "not_in_target"


def test_an_alert_for_the_neighbouring_township_is_not_for_us() -> None:
    assert reason_of(check, alert(areas=[NEIGHBOUR_TOWNSHIP])) == "not_in_target"
    assert reason_of(check, alert(areas=[NEIGHBOUR_COUNTY, NEIGHBOUR_TOWNSHIP])) == "not_in_target"


@pytest.mark.parametrize("area", [VILLAGE, TOWNSHIP, COUNTY, "522600000000", PROVINCE, NATIONAL_CODE])
def test_an_alert_for_the_village_or_any_ancestor_reaches_it(area: str) -> None:
    check(alert(areas=[NEIGHBOUR_COUNTY, area]))


def test_the_national_root_covers_every_village() -> None:
    for village in (VILLAGE, "441900003001", "110101001001", "650000000001"):
        assert area_covers(NATIONAL_CODE, village)
        check(alert(areas=[NATIONAL_CODE]), village=village)


def test_significant_prefixes_follow_the_trailing_zeros() -> None:
    assert code_prefix(NATIONAL_CODE) == ""
    assert code_prefix(PROVINCE) == "52"
    assert code_prefix("522600000000") == "5226"
    assert code_prefix(COUNTY) == "522632"
    assert code_prefix(TOWNSHIP) == "522632100"
    assert code_prefix(VILLAGE) == VILLAGE
    assert code_prefix("441900003000") == "441900003"  # 东莞: a township directly under a city


def test_a_terminal_listens_to_its_village_and_every_ancestor() -> None:
    assert covering_codes(VILLAGE) == [NATIONAL_CODE, PROVINCE, "522600000000", COUNTY, TOWNSHIP, VILLAGE]
    # 东莞 has no counties: the city is listed once.
    assert covering_codes("441900003001") == [
        NATIONAL_CODE,
        "440000000000",
        "441900000000",
        "441900003000",
        "441900003001",
    ]


MALFORMED_ALERTS = {
    "not-an-alert": {"kind": "trust_list"},
    "sent-missing": {"sent": None},
    "sent-not-a-time": {"sent": "yesterday"},
    "sent-without-offset": {"sent": "2026-11-27T11:58:00"},
    "expires-missing": {"expires": None},
    "areas-missing": {"areas": None},
    "areas-empty": {"areas": []},
    "areas-string": {"areas": COUNTY},
    "area-short": {"areas": ["5226"]},
    "area-number": {"areas": [522632000000]},
}


@pytest.mark.parametrize("changes", MALFORMED_ALERTS.values(), ids=MALFORMED_ALERTS.keys())
def test_an_alert_missing_what_the_rules_read_is_malformed(changes: dict) -> None:
    assert reason_of(check, alert(**changes)) == "malformed"


def test_alert_check_insists_on_an_aware_now_and_a_real_village_code() -> None:
    with pytest.raises(ValueError):
        check(alert(), now=datetime(2026, 11, 27, 12, 0))
    with pytest.raises(ValueError):
        check(alert(), village="5226321")


# ---------------------------------------------------------------------------- trust list


def test_the_trust_list_round_trips_through_json(signers: dict[str, Signer]) -> None:
    trust = TrustList([signers[ALG_SM2].trusted(revoked=True), signers[ALG_ED25519].trusted()])
    again = TrustList.from_json(trust.to_json())
    assert again == trust
    assert [k.serial for k in again.keys] == sorted(SERIALS.values())
    assert again.get(SERIALS[ALG_SM2]) == signers[ALG_SM2].trusted(revoked=True)
    assert again.get("000000000000") is None
    document = json.loads(trust.to_json())
    assert document[0] == {
        "serial": SERIALS[ALG_ED25519],
        "alg": ALG_ED25519,
        "public_key": base64.b64encode(signers[ALG_ED25519].public).decode(),
        "revoked": False,
        "usage": ["broadcast"],  # key usage (§6): what the key may sign
    }
    assert TrustList.from_json(trust.to_json().decode()) == trust


BAD_TRUST_LISTS = {
    "object": "{}",
    "not-json": "[",
    "entry-missing-revoked": '[{"serial":"202611270001","alg":"Ed25519","public_key":"' + "A" * 43 + '="}]',
    "revoked-string": '[{"serial":"202611270001","alg":"Ed25519","public_key":"' + "A" * 43 + '=","revoked":"no"}]',
    "short-key": '[{"serial":"202611270001","alg":"Ed25519","public_key":"AAAA","revoked":false}]',
    "sm2-compressed": '[{"serial":"202611270001","alg":"SM2-SM3","public_key":"'
    + base64.b64encode(b"\x02" + b"\x01" * 64).decode()
    + '","revoked":false}]',
    "unknown-alg": '[{"serial":"202611270001","alg":"RSA","public_key":"AAAA","revoked":false}]',
    "bad-serial": '[{"serial":"x","alg":"Ed25519","public_key":"' + "A" * 43 + '=","revoked":false}]',
    "duplicate-serial": '[{"serial":"202611270001","alg":"Ed25519","public_key":"'
    + "A" * 43
    + '=","revoked":false},{"serial":"202611270001","alg":"Ed25519","public_key":"'
    + "A" * 43
    + '=","revoked":true}]',
}


@pytest.mark.parametrize("text", BAD_TRUST_LISTS.values(), ids=BAD_TRUST_LISTS.keys())
def test_a_bad_trust_list_is_refused_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        TrustList.from_json(text)


# ---------------------------------------------------------------------------- verification cache


def test_the_cache_verifies_one_payload_once_for_many_terminals(signer: Signer, trust: TrustList) -> None:
    cache = VerifyCache()
    sealed = signer.seal(alert())
    for _ in range(50):
        assert open_envelope(sealed, trust, cache=cache)[1] == alert()
    assert (cache.misses, cache.hits, len(cache)) == (1, 49, 1)


def test_the_cache_still_applies_the_current_trust_list(signer: Signer, signers: dict[str, Signer]) -> None:
    cache = VerifyCache()
    sealed = signer.seal(alert())
    open_envelope(sealed, TrustList([signer.trusted()]), cache=cache)
    assert reason_of(open_envelope, sealed, TrustList([signer.trusted(revoked=True)]), cache=cache) == "revoked_key"
    assert reason_of(open_envelope, sealed, TrustList(), cache=cache) == "unknown_key"


def test_the_cache_remembers_refusals_too_and_stays_bounded(signer: Signer, trust: TrustList) -> None:
    cache = VerifyCache(maxsize=3)
    envelope = envelope_decode(signer.seal(alert()))
    for n in range(5):
        forged = Envelope(envelope.payload, envelope.alg, envelope.serial, bytes([n]) * 64)
        for _ in range(2):
            assert reason_of(cache.verify, forged, trust) == "bad_signature"
    assert (cache.misses, cache.hits, len(cache)) == (5, 5, 3)
    cache.clear()
    assert (cache.misses, cache.hits, len(cache)) == (0, 0, 0)


def test_rejected_knows_only_the_receipt_reasons() -> None:
    assert Rejected("duplicate").reason == "duplicate"
    assert str(Rejected("audio_failed", "sha256 differs")) == "audio_failed: sha256 differs"
    with pytest.raises(ValueError):
        Rejected("nope")
