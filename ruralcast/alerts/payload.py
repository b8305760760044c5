"""The signed alert payload (docs/protocols.md §4), the topics it is published on, and the content
version an approver approves.

Payload versions: an alert in one language is version 1 (no `payload_version` member, the bytes
every terminal has read since the start). An alert with translations is version 2: the same members
(the top-level `language`, `title`, `text` and `audio` stay the primary language, so a version-1
terminal still plays the primary) plus `payload_version: 2` and `texts`, one entry per language,
primary first, then the translations in the author's order.
"""

import hashlib
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from ruralcast_terminal.protocol import canonical_json

from ruralcast.alerts.audio import drill_preamble
from ruralcast.alerts.models import Alert, AlertTranslation, MsgType, State
from ruralcast.messaging.topics import region_topic

# Audio up to this size travels with the message, attached after the envelope as raw bytes
# (docs/protocols.md §3), so a terminal can play from the message alone and 10,000 terminals do not
# all fetch it at once: a 15-second spoken alert at 32 kbit/s is ~63 KB. Raw rather than base64 in
# the signed JSON (where it would be encoded twice, payload and envelope): 40 % fewer bytes for every
# loudspeaker on a metered 4G link. Longer audio goes by URL + SHA-256 (range requests, caching).
INLINE_AUDIO_MAX_BYTES = 64 * 1024


def _local_iso(value: Any) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


# An alert with translations is signed as this version (docs/protocols.md §4, "Payload versions").
PAYLOAD_VERSION_TEXTS = 2


def audio_url(alert: Alert | AlertTranslation) -> str:
    base = settings.RURALCAST_PUBLIC_URL.rstrip("/")
    return f"{base}{reverse('alerts:audio', args=[alert.audio_sha256])}" if alert.audio_sha256 else ""


def _translations(alert: Alert) -> list[AlertTranslation]:
    """The alert's translations in order (`.all()`: a prefetched list costs no query)."""
    if alert.pk is None:
        return []
    return sorted(alert.translations.all(), key=lambda t: (t.position, t.pk))


def _text_audio(item: AlertTranslation) -> dict[str, Any] | None:
    """A translation's audio goes by URL + SHA-256 (only the primary's may be attached, §3)."""
    if not item.audio_sha256:
        return None
    return {
        "url": audio_url(item),
        "sha256": item.audio_sha256,
        "bytes": item.audio_bytes,
        "seconds": round(item.audio_seconds, 2),
        "mime": "audio/mpeg",
        "inline": None,
        "attached": False,
    }


def audio_attached(alert: Alert) -> bool:
    """Whether the alert's audio travels attached to its message (small enough), or by URL only."""
    return bool(alert.audio_sha256) and alert.audio_bytes <= INLINE_AUDIO_MAX_BYTES


def alert_attachment(alert: Alert) -> bytes | None:
    """The raw audio to attach to the alert's message, or None when it goes by URL only."""
    if not audio_attached(alert):
        return None
    with default_storage.open(alert.audio_name, "rb") as handle:
        return handle.read()


def _content(alert: Alert) -> dict[str, Any]:
    """The signed fields that say what is broadcast, as the approver sees them (not `sent`, which
    is the moment of approval, nor `references`, which the chain fixes at dispatch). With
    translations, version 2's `payload_version` and `texts` (without their audio, which
    `content_version` and `alert_payload` add)."""
    content: dict[str, Any] = {
        "kind": "alert",
        "ebm_id": alert.ebm_id,
        "cap_id": alert.cap_id,
        "sender": alert.sender_code,
        "sender_name": alert.sender_name,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "scope": alert.scope,
        "event": alert.event_code,
        "severity": alert.severity,
        "urgency": alert.urgency,
        "certainty": alert.certainty,
        "onset": _local_iso(alert.onset),
        "expires": _local_iso(alert.expires),
        # `.all()`, not `values_list`: a prefetched list costs no query (the API's listing).
        "areas": sorted(region.code for region in alert.targets.all()),
        "language": alert.language,
        "title": alert.title,
        "text": alert.text,
        "volume": alert.volume,
        "repeat": alert.repeat,
        "drill": alert.is_drill,
    }
    translations = _translations(alert)
    if translations:
        content["payload_version"] = PAYLOAD_VERSION_TEXTS
        content["texts"] = [
            {"language": alert.language, "title": alert.title, "text": alert.text},
            *({"language": t.language, "title": t.title, "text": t.text} for t in translations),
        ]
    return content


def content_version(alert: Alert) -> str:
    """SHA-256 (hex) of what the approver is shown and approves: the signed content fields, the
    audio's hash and the message the chain refers to.

    The approval screen and the API carry it; `alert_approve` refuses (409) when it differs from
    the message's current version, so an approver never approves text, targets, times or audio
    other than what they saw (a draft sent back, rewritten and resubmitted while their page was
    open is a different version).
    """
    content = _content(alert)
    content["audio_sha256"] = alert.audio_sha256
    if "texts" in content:
        content["texts_audio_sha256"] = [t.audio_sha256 for t in _translations(alert)]
    content["refers_to"] = alert.references.ebm_id if alert.references_id and alert.references else ""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def chain_references(alert: Alert) -> list[str]:
    """The EBM ids a follow-up names in its signed `references`: every earlier message of its chain
    that may have reached terminals (the original and each approved Update), oldest first.

    A terminal withdraws every id it is given, so a Cancel stops whichever of them is playing (an
    Update included), and an Update replaces whichever earlier word a terminal holds.
    """
    if alert.msg_type == MsgType.ALERT or not alert.references_id:
        return []
    original = alert.original
    updates = (
        Alert.objects.filter(references=original, msg_type=MsgType.UPDATE, pk__lt=alert.pk, approved_at__isnull=False)
        .exclude(state=State.WITHDRAWN)
        .order_by("pk")
        .values_list("ebm_id", flat=True)
    )
    return [original.ebm_id, *updates]


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
    payload = {
        **_content(alert),
        "sent": _local_iso(alert.sent_at or alert.approved_at),
        "references": chain_references(alert),
        "audio": audio,
    }
    if "texts" in payload:  # version 2: each language with its audio, the primary's as above
        audios = [audio, *(_text_audio(t) for t in _translations(alert))]
        payload["texts"] = [{**text, "audio": item} for text, item in zip(payload["texts"], audios, strict=True)]
    if alert.is_drill and alert.msg_type != MsgType.CANCEL:
        payload["preamble"] = drill_preamble()  # every drill is announced as one, whatever its audio
    return payload


def alert_topics(alert: Alert) -> list[str]:
    """One topic per target region, under the chain's original EBM id (updates replace it)."""
    original = alert.original
    return [region_topic(code, original.ebm_id) for code in sorted(alert.targets.values_list("code", flat=True))]
