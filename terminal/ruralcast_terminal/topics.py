"""MQTT topic names of protocol v1 (docs/protocols.md §2): the one place they are spelt.

The wire protocol lives in this package, so its topic names do too; the platform re-exports this
module as `ruralcast.messaging.topics`. Nothing else in the repository writes an `rc/v1/…` string
in code (`scripts/check_topics.py`, run by `make lint`, fails on one); docstrings and docs may.

Downlinks, published by the platform and only read by terminals:
- `rc/v1/down/r/<region code>/<name>`: a region's subtree. `<name>` is an alert's original EBM id
  (retained; its update or cancel replaces it on the same topic), `schedule` (a village's signed
  programme, retained), `trust` under the national root (the trust list, retained), `cmd-<key>` (a
  remote command), `live-<session>` (live voice, QoS 0). A terminal subscribes to
  `rc/v1/down/r/<code>/+` for its village and every ancestor, national root first.
- `rc/v1/down/t/<terminal code>`: one device (commands to named terminals, cleared retains, the
  signed answer to its time-sync question).

Uplinks: `rc/v1/up/<terminal code>/<kind>` (receipt, status, ack, playlog, time). The broker's ACL lets
only the terminal whose user name is `<terminal code>` write there; that is what makes the terminal
id in an uplink topic trustworthy. `acl_*` below are the patterns the broker's ACL file is built from.
"""

from __future__ import annotations

from ruralcast_terminal.protocol import NATIONAL_CODE, covering_codes

ROOT = "rc/v1"
DOWN_PREFIX = f"{ROOT}/down/"
UP_PREFIX = f"{ROOT}/up/"
REGION_PREFIX = f"{DOWN_PREFIX}r/"
TERMINAL_PREFIX = f"{DOWN_PREFIX}t/"
EVERYTHING = f"{ROOT}/#"  # the platform's own account reads and writes all of it

# Uplink kinds: the last level of `rc/v1/up/<terminal>/<kind>`.
RECEIPT = "receipt"
STATUS = "status"
ACK = "ack"  # answers to remote commands (protocols.md §8)
PLAYLOG = "playlog"  # what a terminal played of its schedule (播出记录, docs/broadcasting.md)
TIME = "time"  # a signed time-sync question (protocols.md §11); answered on the terminal's own topic
UPLINK_KINDS = (RECEIPT, STATUS, ACK, PLAYLOG, TIME)

# Last levels of region topics that are not alerts.
TRUST = "trust"
SCHEDULE = "schedule"
COMMAND_PREFIX = "cmd-"
LIVE_PREFIX = "live-"

# The retained topic of one alert under one region, as a str.format template (region, ebm_id).
REGION_TOPIC = REGION_PREFIX + "{region}/{ebm_id}"


def region_topic(code: str, name: str) -> str:
    """A concrete topic under one region: an alert's original EBM id, `schedule`, `cmd-…`, `live-…`."""
    return f"{REGION_PREFIX}{code}/{name}"


def region_filter(code: str) -> str:
    """What a terminal subscribes to for one region it lies in: everything under it."""
    return f"{REGION_PREFIX}{code}/+"


def region_topics(village_code: str) -> list[str]:
    """The region topic filters of a terminal: one per covering code, national root first."""
    return [region_filter(code) for code in covering_codes(village_code)]


def terminal_topic(terminal_id: str) -> str:
    return f"{TERMINAL_PREFIX}{terminal_id}"


def subscriptions(terminal_id: str, village_code: str) -> list[tuple[str, int]]:
    """Every filter of a terminal, at QoS 1: its regions, then its own topic."""
    return [(t, 1) for t in [*region_topics(village_code), terminal_topic(terminal_id)]]


def trust_topic() -> str:
    """Where the signed trust list is retained: under the national root, which every terminal reads."""
    return region_topic(NATIONAL_CODE, TRUST)


def schedule_topic(village_code: str) -> str:
    return region_topic(village_code, SCHEDULE)


def command_topic(region_code: str, key: str) -> str:
    return region_topic(region_code, f"{COMMAND_PREFIX}{key}")


def live_topic(region_code: str, session: str) -> str:
    return region_topic(region_code, f"{LIVE_PREFIX}{session}")


def is_region_topic(topic: str) -> bool:
    return topic.startswith(REGION_PREFIX)


EBM_ID_DIGITS = 35


def is_alert_topic(topic: str) -> bool:
    """`rc/v1/down/r/<region>/<35-digit EBM id>`: an alert chain's topic (the only one a `rejected`
    receipt is sent for, protocols.md §5)."""
    last = topic.rsplit("/", 1)[-1]
    return is_region_topic(topic) and len(last) == EBM_ID_DIGITS and last.isascii() and last.isdigit()


def topic_kind(topic: str) -> str:
    """What a downlink topic carries, by its name (for logs of what was dropped unread)."""
    last = topic.rsplit("/", 1)[-1]
    if topic.startswith(TERMINAL_PREFIX):
        return "terminal"
    if last.startswith(LIVE_PREFIX):
        return "live"
    if last.startswith(COMMAND_PREFIX):
        return "command"
    if last in (TRUST, SCHEDULE):
        return last
    return "alert" if is_alert_topic(topic) else "message"


def uplink_topic(terminal_id: str, kind: str) -> str:
    return f"{UP_PREFIX}{terminal_id}/{kind}"


def uplink_filter(kind: str) -> str:
    """The subscription filter for one uplink kind of every terminal."""
    return uplink_topic("+", kind)


def receipt_topic(terminal_id: str) -> str:
    return uplink_topic(terminal_id, RECEIPT)


def status_topic(terminal_id: str) -> str:
    return uplink_topic(terminal_id, STATUS)


def ack_topic(terminal_id: str) -> str:
    return uplink_topic(terminal_id, ACK)


def playlog_topic(terminal_id: str) -> str:
    return uplink_topic(terminal_id, PLAYLOG)


def time_topic(terminal_id: str) -> str:
    return uplink_topic(terminal_id, TIME)


def uplink_parse(topic: str) -> tuple[str, str] | None:
    """(terminal code, kind) of an uplink topic, or None if `topic` is not one."""
    if not topic.startswith(UP_PREFIX):
        return None
    parts = topic[len(UP_PREFIX) :].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def is_downlink(topic: str) -> bool:
    """A concrete topic the platform may publish on (no wildcards, under rc/v1/down/)."""
    return topic.startswith(DOWN_PREFIX) and not any(c in topic for c in "+#\0") and len(topic) > len(DOWN_PREFIX)


# Broker ACL patterns (mosquitto: `%u` is the client's user name, which is a terminal's code).
ACL_OWN_DOWNLINK = terminal_topic("%u")
ACL_OWN_UPLINKS = uplink_topic("%u", "#")
ACL_ALL_REGIONS = f"{REGION_PREFIX}#"
