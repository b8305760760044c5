"""MQTT 3.1.1 packets (OASIS standard): encoding and decoding, no sockets and no event loop.

The codec of the lean client in `mqtt.py`, kept apart from it the way aiomqtt keeps `mqtt5` apart from
its client: pure functions over bytes, unit tested on their own, and usable by anything that needs to
speak a few packets without a client (the platform's broker health check sends CONNECT and reads
CONNACK with these). What is here: the fixed header's remaining length, CONNECT, PUBLISH (QoS 0/1),
PUBACK, SUBSCRIBE, PINGREQ, DISCONNECT, reading a PUBLISH, and `PacketReader`, which splits a byte
stream into packets. QoS 2, MQTT 5 properties and UNSUBSCRIBE are not, on purpose (see `mqtt.py`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

# Control packet types (MQTT 3.1.1 §2.2.1).
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14

MAX_REMAINING_LENGTH = 268_435_455  # four varint bytes (§2.2.3)
DEFAULT_MAX_PACKET = 16 * 1024 * 1024  # what we accept from the broker; alerts carry ≤ ~100 KB

CONNACK_REASONS = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


class MQTTError(Exception):
    """The broker or the link broke the protocol, or refused us."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


def encode_remaining_length(n: int) -> bytes:
    """The variable-length integer of the fixed header: 7 bits a byte, high bit = more follows."""
    if n < 0 or n > MAX_REMAINING_LENGTH:
        raise ValueError(f"remaining length {n} out of range 0..{MAX_REMAINING_LENGTH}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_remaining_length(buf: bytes | bytearray, offset: int = 0) -> tuple[int, int] | None:
    """(value, bytes used) of the varint at `offset`, or None if `buf` ends inside it.

    Raises MQTTError for a fifth continuation byte (a malformed packet, §2.2.3).
    """
    value = 0
    shift = 0
    for i in range(4):
        if offset + i >= len(buf):
            return None
        byte = buf[offset + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    raise MQTTError("malformed remaining length (more than four bytes)")


def _utf8(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError("MQTT string longer than 65535 bytes")
    return struct.pack("!H", len(raw)) + raw


def _blob(raw: bytes) -> bytes:
    if len(raw) > 0xFFFF:
        raise ValueError("MQTT binary field longer than 65535 bytes")
    return struct.pack("!H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_remaining_length(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    username: str | None = None,
    password: str | bytes | None = None,
    clean_session: bool = True,
    keepalive: int = 60,
    will: Will | None = None,
) -> bytes:
    if not 0 <= keepalive <= 0xFFFF:
        raise ValueError("keepalive must fit in 16 bits")
    if password is not None and username is None:
        raise ValueError("MQTT 3.1.1 needs a user name to send a password")
    flags = 0x02 if clean_session else 0
    payload = _utf8(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += _utf8(will.topic) + _blob(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _utf8(username)
    if password is not None:
        flags |= 0x40
        payload += _blob(password.encode("utf-8") if isinstance(password, str) else password)
    variable = _utf8("MQTT") + bytes((4, flags)) + struct.pack("!H", keepalive)
    return _packet(CONNECT << 4, variable + payload)


def publish_packet(
    topic: str, payload: bytes, *, qos: int = 0, retain: bool = False, packet_id: int = 0, dup: bool = False
) -> bytes:
    if qos not in (0, 1):
        raise ValueError("this client publishes at QoS 0 or 1")
    if any(c in topic for c in "+#") or not topic:
        raise ValueError(f"invalid topic name for PUBLISH: {topic!r}")
    first = (PUBLISH << 4) | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    variable = _utf8(topic)
    if qos:
        if not 0 < packet_id <= 0xFFFF:
            raise ValueError("QoS 1 needs a packet id 1..65535")
        variable += struct.pack("!H", packet_id)
    return _packet(first, variable + payload)


def puback_packet(packet_id: int) -> bytes:
    return struct.pack("!BBH", PUBACK << 4, 2, packet_id)


def subscribe_packet(packet_id: int, topics: Sequence[tuple[str, int]]) -> bytes:
    if not topics:
        raise ValueError("SUBSCRIBE needs at least one topic filter")
    body = struct.pack("!H", packet_id)
    for topic, qos in topics:
        if qos not in (0, 1, 2):
            raise ValueError("requested QoS must be 0, 1 or 2")
        body += _utf8(topic) + bytes((qos,))
    return _packet((SUBSCRIBE << 4) | 0x02, body)  # §3.8.1: reserved flags 0010


PINGREQ_PACKET = bytes((PINGREQ << 4, 0))
DISCONNECT_PACKET = bytes((DISCONNECT << 4, 0))


def parse_publish(flags: int, body: bytes) -> tuple[Message, int]:
    """The message and packet id (0 at QoS 0) of a PUBLISH body."""
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MQTTError("PUBLISH with QoS 3")
    if len(body) < 2:
        raise MQTTError("PUBLISH too short")
    (tlen,) = struct.unpack_from("!H", body, 0)
    pos = 2 + tlen
    if len(body) < pos + (2 if qos else 0):
        raise MQTTError("PUBLISH too short for its topic")
    try:
        topic = body[2:pos].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MQTTError("PUBLISH topic is not UTF-8") from exc
    packet_id = 0
    if qos:
        (packet_id,) = struct.unpack_from("!H", body, pos)
        pos += 2
    return Message(topic, body[pos:], qos, bool(flags & 0x01), bool(flags & 0x08)), packet_id


class PacketReader:
    """Splits a byte stream into (packet type, flags, body) triples."""

    __slots__ = ("_buf", "max_packet")

    def __init__(self, max_packet: int = DEFAULT_MAX_PACKET) -> None:
        self._buf = bytearray()
        self.max_packet = max_packet

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, int, bytes]] = []
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            decoded = decode_remaining_length(buf, pos + 1)
            if decoded is None:
                break
            length, used = decoded
            if length > self.max_packet:
                raise MQTTError(f"packet of {length} bytes exceeds the limit of {self.max_packet}")
            start = pos + 1 + used
            end = start + length
            if end > n:
                break
            first = buf[pos]
            out.append((first >> 4, first & 0x0F, bytes(buf[start:end])))
            pos = end
        if pos:
            del buf[:pos]
        return out
