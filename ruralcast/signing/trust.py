"""Publishing the trust list to terminals: how a new or revoked key reaches every device.

Whenever keys change (generate, rotate, revoke) the platform queues, in the same transaction, a
signed trust-list update: `{"kind": "trust", "version": <ms since epoch>, "keys": [...]}`, published
retained on `rc/v1/down/r/000000000000/trust` (every terminal subscribes to the national root). A
terminal adopts it when it is newer than its own and signed by a key it trusts that stays trusted
in the new list (docs/protocols.md §6).

Order that keeps every terminal in step: generate the successor (published, signed by the active
key) → rotate (published, signed by the successor, already trusted) → revoke the old key (published).
Revoking the active key with rotation in one step (`signing_key_revoke --rotate`) publishes a
cross-signed hand-over: the list is signed by the outgoing key, which every terminal trusts, before
its private half is destroyed, and carries the successor's signature over the hand-over statement
(`handover`), so terminals adopt a list that revokes its own signer only when a successor they can
verify takes over. Versions are milliseconds since the epoch; terminals refuse one more than
`TRUST_VERSION_AHEAD_MS` (10 minutes) ahead of their corrected clock.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from ruralcast.messaging.handlers import Outgoing
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.messaging.topics import trust_topic
from ruralcast.signing.selectors import trust_list_build

if TYPE_CHECKING:
    from ruralcast.messaging.handlers import Outgoing

TRUST_OUTBOX_KIND = "trust.publish"
TRUST_TOPIC = trust_topic()


def trust_publish_enqueue() -> OutboxMessage:
    """Queue a trust-list update (call inside the transaction that changed the keys); returns its row."""
    last = OutboxMessage.objects.filter(kind=TRUST_OUTBOX_KIND).order_by("-id").values_list("key", flat=True).first()
    # Milliseconds since the epoch, and always above the last one (two changes in one millisecond).
    version = max(int(datetime.now(UTC).timestamp() * 1000), int(last) + 1 if last else 0)
    with transaction.atomic():
        return outbox_enqueue(kind=TRUST_OUTBOX_KIND, key=str(version))


def build_trust_update(key: str) -> list["Outgoing"]:
    """The one retained message of an update (the dispatcher signs it with the active key)."""
    payload = {
        "kind": "trust",
        "version": int(key),
        "sent": timezone.localtime().isoformat(timespec="seconds"),
        "keys": trust_list_build().to_list(),
    }
    return [Outgoing(topic=TRUST_TOPIC, payload=payload, retain=True)]
