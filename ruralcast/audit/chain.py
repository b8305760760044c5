"""How an audit event is hashed. Shared by the writer and the verifier so they cannot drift."""

import hashlib
import json
from datetime import datetime
from typing import Any


def canonical_event(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    verb: str,
    object_type: str,
    object_id: str,
    object_label: str,
    region_code: str,
    before: Any,
    after: Any,
) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of the fields the hash covers."""
    document = {
        "seq": seq,
        "at": created_at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor": actor_label,
        "verb": verb,
        "object_type": object_type,
        "object_id": object_id,
        "object": object_label,
        "region": region_code,
        "before": before,
        "after": after,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# The event fields the hash covers (the keyword arguments of canonical_event), in one place for the
# writer (services.audit_record) and the verifier (selectors.audit_chain_verify).
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "verb",
    "object_type",
    "object_id",
    "object_label",
    "region_code",
    "before",
    "after",
)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
