"""The signed alert payload (docs/protocols.md §4) and the topics it is published on."""

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse

from ruralcast.alerts.models import Alert
from ruralcast.messaging.topics import REGION_TOPIC  # a str.format template (region, ebm_id)

# Audio up to this size travels with the message, attached after the envelope as raw bytes
# (docs/protocols.md §3), so a terminal can play from the message alone and 10,000 terminals do not
# all fetch it at once: a 15-second spoken alert at 32 kbit/s is ~63 KB. Raw rather than base64 in
# the signed JSON (where it would be encoded twice, payload and envelope): 40 % fewer bytes for every
# loudspeaker on a metered 4G link. Longer audio goes by URL + SHA-256 (range requests, caching).
INLINE_AUDIO_MAX_BYTES = 64 * 1024


def _local_iso(value: Any) -> str:
    from django.utils import timezone

    return timezone.localtime(value).isoformat(timespec="seconds")


def audio_url(alert: Alert) -> str:
    base = settings.RURALCAST_PUBLIC_URL.rstrip("/")
    return f"{base}{reverse('alerts:audio', args=[alert.audio_sha256])}" if alert.audio_sha256 else ""


def audio_attached(alert: Alert) -> bool:
    """Whether the alert's audio travels attached to its message (small enough), or by URL only."""
    return bool(alert.audio_sha256) and alert.audio_bytes <= INLINE_AUDIO_MAX_BYTES


def alert_attachment(alert: Alert) -> bytes | None:
    """The raw audio to attach to the alert's message, or None when it goes by URL only."""
    if not audio_attached(alert):
        return None
    with default_storage.open(alert.audio_name, "rb") as handle:
        return handle.read()


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The dictionary the dispatcher signs (canonical JSON) and terminals verify and act on."""
    audio: dict[str, Any] | None = None
    if alert.audio_sha256:
        audio = {
            "url": audio_url(alert),
            "sha256": alert.audio_sha256,
            "bytes": alert.audio_bytes,
            "seconds": round(alert.audio_seconds, 2),
            "mime": "audio/mpeg",
            "inline": None,
            "attached": audio_attached(alert),
        }
    return {
        "kind": "alert",
        "ebm_id": alert.ebm_id,
        "cap_id": alert.cap_id,
        "sender": alert.sender_code,
        "sender_name": alert.sender_name,
        "sent": _local_iso(alert.sent_at or alert.approved_at),
        "status": alert.status,
        "msg_type": alert.msg_type,
        "references": [alert.references.ebm_id] if alert.references_id and alert.references else [],
        "scope": alert.scope,
        "event": alert.event_code,
        "severity": alert.severity,
        "urgency": alert.urgency,
        "certainty": alert.certainty,
        "onset": _local_iso(alert.onset),
        "expires": _local_iso(alert.expires),
        "areas": sorted(alert.targets.values_list("code", flat=True)),
        "language": alert.language,
        "title": alert.title,
        "text": alert.text,
        "audio": audio,
        "volume": alert.volume,
        "repeat": alert.repeat,
        "drill": alert.is_drill,
    }


def alert_topics(alert: Alert) -> list[str]:
    """One topic per target region, under the chain's original EBM id (updates replace it)."""
    original = alert.original
    return [
        REGION_TOPIC.format(region=code, ebm_id=original.ebm_id)
        for code in sorted(alert.targets.values_list("code", flat=True))
    ]
