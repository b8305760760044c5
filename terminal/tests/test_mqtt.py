"""The lean MQTT client: packet encoding on its own, then behaviour against a real mosquitto."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest
from ruralcast_terminal import mqtt
from ruralcast_terminal.mqtt import Client, ConnectRefused, Message, NotConnected, PacketReader, Will

# --------------------------------------------------------------------------------------------
# Remaining-length varint (§2.2.3 table of boundaries).

BOUNDARIES = [
    (0, b"\x00"),
    (1, b"\x01"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (16_383, b"\xff\x7f"),
    (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"),
    (2_097_152, b"\x80\x80\x80\x01"),
    (268_435_455, b"\xff\xff\xff\x7f"),
]


@pytest.mark.parametrize(("value", "encoded"), BOUNDARIES)
def test_remaining_length_encodes_the_spec_boundaries(value: int, encoded: bytes) -> None:
    assert mqtt.encode_remaining_length(value) == encoded


@pytest.mark.parametrize(("value", "encoded"), BOUNDARIES)
def test_remaining_length_decodes_the_spec_boundaries_at_an_offset(value: int, encoded: bytes) -> None:
    assert mqtt.decode_remaining_length(b"\x30" + encoded + b"rest", 1) == (value, len(encoded))


@pytest.mark.parametrize("value", [-1, 268_435_456])
def test_remaining_length_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(ValueError):
        mqtt.encode_remaining_length(value)


def test_remaining_length_cut_short_is_incomplete_not_an_error() -> None:
    assert mqtt.decode_remaining_length(b"") is None
    assert mqtt.decode_remaining_length(b"\x80") is None
    assert mqtt.decode_remaining_length(b"\xff\xff\xff") is None


def test_remaining_length_with_a_fifth_byte_is_malformed() -> None:
    with pytest.raises(mqtt.MQTTError):
        mqtt.decode_remaining_length(b"\xff\xff\xff\xff\x01")


# --------------------------------------------------------------------------------------------
# Packets.


def test_connect_packet_with_credentials_matches_the_spec_layout() -> None:
    packet = mqtt.connect_packet("c", username="u", password="p", clean_session=True, keepalive=60)
    assert packet == (
        b"\x10\x13"  # CONNECT, remaining length 19
        b"\x00\x04MQTT\x04"  # protocol name and level 4 (3.1.1)
        b"\xc2"  # user name + password + clean session
        b"\x00\x3c"  # keep-alive 60 s
        b"\x00\x01c\x00\x01u\x00\x01p"
    )


def test_connect_packet_carries_the_will_and_a_persistent_session() -> None:
    packet = mqtt.connect_packet(
        "t1", clean_session=False, keepalive=30, will=Will("rc/v1/up/t1/status", b'{"online": false}', 1, True)
    )
    flags = packet[2 + 7]
    assert flags == 0x04 | 0x08 | 0x20  # will, will QoS 1, will retain; no clean session
    assert packet.endswith(b"\x00\x12rc/v1/up/t1/status\x00\x11" + b'{"online": false}')


def test_connect_packet_refuses_a_password_without_user_name() -> None:
    with pytest.raises(ValueError):
        mqtt.connect_packet("c", password="p")


def test_publish_packet_round_trips_through_the_reader() -> None:
    payload = "演练 alert".encode() * 20
    packet = mqtt.publish_packet("rc/v1/down/r/522632000000", payload, qos=1, retain=True, packet_id=513, dup=True)
    [(ptype, flags, body)] = PacketReader().feed(packet)
    assert ptype == mqtt.PUBLISH
    msg, pid = mqtt.parse_publish(flags, body)
    assert pid == 513
    assert msg == Message("rc/v1/down/r/522632000000", payload, qos=1, retain=True, dup=True)


def test_publish_packet_at_qos0_has_no_packet_id() -> None:
    packet = mqtt.publish_packet("a/b", b"x")
    assert packet == b"\x30\x06\x00\x03a/bx"


@pytest.mark.parametrize("topic", ["", "a/+", "a/#"])
def test_publish_refuses_wildcards_and_empty_topics(topic: str) -> None:
    with pytest.raises(ValueError):
        mqtt.publish_packet(topic, b"x")


def test_subscribe_packet_sets_the_reserved_flags_and_requested_qos() -> None:
    packet = mqtt.subscribe_packet(7, [("a/#", 1), ("b", 0)])
    assert packet == b"\x82\x0c\x00\x07\x00\x03a/#\x01\x00\x01b\x00"


def test_puback_pingreq_disconnect_are_fixed_bytes() -> None:
    assert mqtt.puback_packet(0x0102) == b"\x40\x02\x01\x02"
    assert mqtt.PINGREQ_PACKET == b"\xc0\x00"
    assert mqtt.DISCONNECT_PACKET == b"\xe0\x00"


def test_reader_reassembles_packets_fed_one_byte_at_a_time() -> None:
    big = mqtt.publish_packet("t", b"z" * 20_000, qos=1, packet_id=1)  # three-byte remaining length
    stream = mqtt.puback_packet(9) + big + b"\xd0\x00"
    reader = PacketReader()
    got = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert [p[0] for p in got] == [mqtt.PUBACK, mqtt.PUBLISH, mqtt.PINGRESP]
    assert mqtt.parse_publish(got[1][1], got[1][2])[0].payload == b"z" * 20_000


def test_reader_splits_many_packets_in_one_chunk() -> None:
    stream = b"".join(mqtt.publish_packet("t", bytes([i]) * i) for i in range(50))
    got = PacketReader().feed(stream)
    assert [mqtt.parse_publish(f, b)[0].payload for _, f, b in got] == [bytes([i]) * i for i in range(50)]


def test_reader_refuses_a_packet_above_its_limit_before_buffering_it() -> None:
    with pytest.raises(mqtt.MQTTError):
        PacketReader(max_packet=1000).feed(b"\x30" + mqtt.encode_remaining_length(1001))


def test_parse_publish_rejects_truncated_bodies() -> None:
    with pytest.raises(mqtt.MQTTError):
        mqtt.parse_publish(0x02, b"\x00\x05ab")


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    low = [mqtt.backoff_delay(a, base=1, cap=30, rng=lambda lo, hi: lo) for a in range(1, 9)]
    high = [mqtt.backoff_delay(a, base=1, cap=30, rng=lambda lo, hi: hi) for a in range(1, 9)]
    assert low == [0.5, 1, 2, 4, 8, 15, 15, 15]
    assert high == [1, 2, 4, 8, 16, 30, 30, 30]
    assert mqtt.backoff_delay(10_000, base=1, cap=30) <= 30


# --------------------------------------------------------------------------------------------
# Against a real mosquitto.


async def _collector(
    broker, client_id: str, topics: list[tuple[str, int]], **kw
) -> tuple[Client, asyncio.Queue[Message]]:
    q: asyncio.Queue[Message] = asyncio.Queue()
    c = Client(client_id, broker.host, broker.port, subscriptions=topics, on_message=q.put_nowait, **kw)
    await c.connect()
    return c, q


@pytest.mark.anyio
async def test_qos1_publish_is_acknowledged_and_delivered_to_a_subscriber(mosquitto) -> None:
    sub, inbox = await _collector(mosquitto, "sub", [("rc/v1/down/r/#", 1)])
    pub = Client("pub", mosquitto.host, mosquitto.port)
    await pub.connect()
    await asyncio.wait_for(pub.publish("rc/v1/down/r/522632000000", b"hello", qos=1), 5)
    assert pub.pending == 0
    msg = await asyncio.wait_for(inbox.get(), 5)
    assert (msg.topic, msg.payload, msg.qos, msg.retain) == ("rc/v1/down/r/522632000000", b"hello", 1, False)
    await pub.publish("rc/v1/down/r/x", b"q0", qos=0)
    msg = await asyncio.wait_for(inbox.get(), 5)
    assert (msg.payload, msg.qos) == (b"q0", 0)
    await sub.disconnect()
    await pub.disconnect()


def test_run_event_loop_carries_the_client_on_uvloop(mosquitto) -> None:
    """The simulator's processes run on uvloop when installed: its transports are not
    asyncio.Transport subclasses, and the client must work with them all the same."""
    pytest.importorskip("uvloop")
    loop_types: list[str] = []

    async def round_trip() -> Message:
        loop_types.append(type(asyncio.get_running_loop()).__module__)
        sub, inbox = await _collector(mosquitto, "uv-sub", [("rc/v1/up/+/receipt", 1)])
        pub = Client("uv-pub", mosquitto.host, mosquitto.port)
        await pub.connect()
        await asyncio.wait_for(pub.publish("rc/v1/up/t1/receipt", b"{}", qos=1), 5)
        message = await asyncio.wait_for(inbox.get(), 5)
        await sub.disconnect()
        await pub.disconnect()
        return message

    message = mqtt.run_event_loop(round_trip())
    assert loop_types == ["uvloop"]
    assert (message.topic, message.payload, message.qos) == ("rc/v1/up/t1/receipt", b"{}", 1)


@pytest.mark.anyio
async def test_a_late_subscriber_gets_the_retained_message_flagged_retained(mosquitto) -> None:
    pub = Client("pub", mosquitto.host, mosquitto.port)
    await pub.connect()
    await pub.publish("rc/v1/down/r/000000000000", b"kept", qos=1, retain=True)
    sub, inbox = await _collector(mosquitto, "late", [("rc/v1/down/r/000000000000", 1)])
    msg = await asyncio.wait_for(inbox.get(), 5)
    assert (msg.payload, msg.retain) == (b"kept", True)
    await sub.disconnect()
    await pub.disconnect()


@pytest.mark.anyio
async def test_the_will_is_published_when_a_client_vanishes_but_not_on_disconnect(mosquitto) -> None:
    watcher, inbox = await _collector(mosquitto, "watcher", [("rc/v1/up/+/status", 1)])
    polite = Client("polite", mosquitto.host, mosquitto.port, will=Will("rc/v1/up/polite/status", b"gone", 1))
    await polite.connect()
    await polite.disconnect()
    vanished = Client("vanished", mosquitto.host, mosquitto.port, will=Will("rc/v1/up/vanished/status", b"gone", 1))
    await vanished.connect()
    vanished.abort()
    msg = await asyncio.wait_for(inbox.get(), 5)
    assert msg.topic == "rc/v1/up/vanished/status"
    await asyncio.sleep(0.2)
    assert inbox.empty()
    await watcher.disconnect()


@pytest.mark.anyio
async def test_keepalive_pings_keep_an_idle_connection_open(mosquitto) -> None:
    idle = Client("idle", mosquitto.host, mosquitto.port, keepalive=1)
    await idle.connect()
    await asyncio.sleep(2.6)  # the broker drops a silent client after 1.5 × keep-alive
    assert idle.is_connected
    await idle.publish("x/y", b"still here", qos=1)
    await idle.disconnect()


@pytest.mark.anyio
async def test_a_wrong_password_is_refused_with_the_connack_code(tmp_path, mosquitto_factory) -> None:
    pwfile = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "t1", "right"], check=True, capture_output=True)
    broker = mosquitto_factory(anonymous=False, extra=f"password_file {pwfile}\n")
    broker.start()
    good = Client("t1", broker.host, broker.port, username="t1", password="right")
    await good.connect()
    await good.disconnect()
    bad = Client("t1", broker.host, broker.port, username="t1", password="wrong")
    with pytest.raises(ConnectRefused) as refused:
        await bad.connect()
    assert refused.value.code in (4, 5)
    assert not bad.is_connected


async def _until(predicate, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.mark.anyio
async def test_client_reconnects_after_a_broker_restart_and_sends_what_was_queued(mosquitto) -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    # The subscriber comes back quickly; the publisher's first retry waits 0.5–1 s, so the queued
    # message is resent only once the subscription exists again (the broker keeps no state).
    sub = Client(
        "sub",
        mosquitto.host,
        mosquitto.port,
        subscriptions=[("up/#", 1)],
        on_message=inbox.put_nowait,
        reconnect_base=0.05,
        reconnect_cap=0.2,
    )
    pub = Client("pub", mosquitto.host, mosquitto.port, reconnect_base=1.0, reconnect_cap=1.0)
    sub.start()
    pub.start()
    await sub.wait_connected(5)
    await pub.wait_connected(5)

    mosquitto.stop()
    await _until(lambda: not pub.is_connected and not sub.is_connected)
    queued = pub.publish_nowait("up/receipt", b"while offline", qos=1)
    assert pub.pending == 1
    mosquitto.start()

    await _until(lambda: sub.connects == 2)
    await asyncio.wait_for(queued, 10)  # acknowledged after the publisher's own reconnect
    assert pub.connects == 2
    assert pub.pending == 0
    msg = await asyncio.wait_for(inbox.get(), 10)
    assert msg.payload == b"while offline"
    await sub.disconnect()
    await pub.disconnect()


@pytest.mark.anyio
async def test_a_start_before_the_broker_is_up_keeps_retrying(mosquitto_factory) -> None:
    broker = mosquitto_factory()
    c = Client("early", broker.host, broker.port, reconnect_base=0.05, reconnect_cap=0.2)
    c.start()
    await asyncio.sleep(0.5)
    assert not c.is_connected
    broker.start()
    await c.wait_connected(5)
    await c.disconnect()


@pytest.mark.anyio
async def test_one_event_loop_fans_a_message_out_to_500_subscribers(mosquitto) -> None:
    got: list[int] = []
    clients = [
        Client(
            f"fan{i}",
            mosquitto.host,
            mosquitto.port,
            subscriptions=[("rc/v1/down/r/000000000000", 1)],
            on_message=lambda _m, i=i: got.append(i),  # type: ignore[misc]
        )
        for i in range(500)
    ]
    await asyncio.gather(*(c.connect() for c in clients))
    pub = Client("pub", mosquitto.host, mosquitto.port)
    await pub.connect()
    await pub.publish("rc/v1/down/r/000000000000", b"x" * 1024, qos=1)
    for _ in range(100):
        if len(got) == 500:
            break
        await asyncio.sleep(0.05)
    assert sorted(got) == list(range(500))
    await asyncio.gather(*(c.disconnect() for c in [*clients, pub]))


@pytest.mark.anyio
async def test_without_resend_a_lost_link_fails_the_unacknowledged_and_sends_nothing_by_itself(mosquitto) -> None:
    """`resend_unacked=False` (the platform's links): the caller republishes, the client does not."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    sub = Client("sub", mosquitto.host, mosquitto.port, subscriptions=[("down/#", 1)], on_message=inbox.put_nowait)
    await sub.connect()
    pub = Client("pub", mosquitto.host, mosquitto.port, resend_unacked=False, reconnect_base=0.05, reconnect_cap=0.1)
    pub.start()
    await pub.wait_connected(5)
    assert mosquitto.proc is not None
    mosquitto.proc.send_signal(signal.SIGSTOP)  # the PUBLISH goes out, no PUBACK comes back
    try:
        waiting = pub.publish_nowait("down/alert", b"once", qos=1)
        await asyncio.sleep(0.2)
        assert not waiting.done()
        pub.abort()
        with pytest.raises(NotConnected):
            await asyncio.wait_for(waiting, 5)
        assert pub.pending == 0
        offline = pub.publish_nowait("down/alert", b"offline", qos=1)
        with pytest.raises(NotConnected):
            await offline
    finally:
        mosquitto.proc.send_signal(signal.SIGCONT)
    await _until(lambda: pub.connects == 2)
    again = pub.publish_nowait("down/alert", b"once", qos=1, dup=True)  # the caller's republish
    await asyncio.wait_for(again, 5)
    received = [await asyncio.wait_for(inbox.get(), 5)]
    await asyncio.sleep(0.3)
    while not inbox.empty():
        received.append(inbox.get_nowait())
    # The broker read the first copy before the link dropped; the second is the caller's: two, not three.
    assert [m.payload for m in received] == [b"once", b"once"]
    await pub.disconnect()
    await sub.disconnect()
