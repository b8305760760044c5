"""MQTT topic names of protocol v1 (docs/protocols.md §2), in one place.

Downlinks: `rc/v1/down/r/<region code>/<ebm id>` (one alert for a region's subtree, retained; its
update or cancel replaces it on the same topic) and `rc/v1/down/t/<terminal code>` (one device). Uplinks: `rc/v1/up/<terminal code>/<kind>`, where the
broker's ACL lets only the terminal whose user name is `<terminal code>` write; that is what makes
the terminal id in an uplink topic trustworthy.
"""

ROOT = "rc/v1"
DOWN_PREFIX = f"{ROOT}/down/"
UP_PREFIX = f"{ROOT}/up/"

RECEIPT = "receipt"
STATUS = "status"
ACK = "ack"  # answers to remote commands (the fleet issue, protocols.md §8)
PLAYLOG = "playlog"  # what a terminal played of its schedule (播出记录, docs/broadcasting.md)
UPLINK_KINDS = (RECEIPT, STATUS, ACK, PLAYLOG)


def region_topic(code: str, ebm_id: str) -> str:
    """The retained topic of one alert (named by its original EBM id) under one target region."""
    return f"{ROOT}/down/r/{code}/{ebm_id}"


def region_filter(code: str) -> str:
    """What a terminal subscribes to for one region it lies in: every alert under it."""
    return f"{ROOT}/down/r/{code}/+"


def terminal_topic(code: str) -> str:
    return f"{ROOT}/down/t/{code}"


def uplink_topic(terminal: str, kind: str) -> str:
    return f"{ROOT}/up/{terminal}/{kind}"


def uplink_filter(kind: str) -> str:
    """The subscription filter for one uplink kind of every terminal."""
    return f"{ROOT}/up/+/{kind}"


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
