"""Writing to the audit trail. Call `audit_record` inside the transaction of the write it records,
so that the record and the change commit or roll back together."""

import json
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from ruralcast.audit.chain import canonical_event, chain_hash
from ruralcast.audit.models import AuditEvent, AuditHead

SYSTEM_ACTOR = "system"


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so what is hashed is exactly what the database stores."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def audit_record(
    *,
    actor: Any,
    verb: str,
    obj: models.Model | None = None,
    region_code: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
) -> AuditEvent:
    """Append one event to the chain. `actor` is a User, or None for the system itself."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    actor_label = actor.get_username() if actor_id is not None else SYSTEM_ACTOR
    before, after = _jsonable(before), _jsonable(after)
    with transaction.atomic():
        AuditHead.objects.get_or_create(id=1)
        # Taking the row lock (PostgreSQL) or the write lock (SQLite) before reading the head is
        # what keeps two concurrent writers from chaining onto the same previous hash.
        AuditHead.objects.filter(id=1).update(seq=F("seq") + 1)
        head = AuditHead.objects.get(id=1)
        created_at = timezone.now().astimezone(UTC)
        fields: dict[str, Any] = {
            "seq": head.seq,
            "created_at": created_at,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "verb": verb,
            "object_type": object_type,
            "object_id": object_id,
            "object_label": object_label,
            "region_code": region_code,
            "before": before,
            "after": after,
        }
        digest = chain_hash(head.hash, canonical_event(**fields))
        event = AuditEvent.objects.create(**fields, prev_hash=head.hash, hash=digest)
        AuditHead.objects.filter(id=1).update(hash=digest)
    return event
