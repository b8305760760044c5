"""Live sessions on the air in this process: their broadcasts and the one MQTT link they share.

The process that holds the speaker's connection (the web process for the browser's WebSocket, or
`manage.py live_feed`) owns the session's `Broadcast`: it feeds it, notices when the session was
stopped (through the API or the console, perhaps in another process: `live_session_is_on`) and
finishes it — flush, `end` message, recording into the library.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from ruralcast.live.models import LiveSession, LiveState
from ruralcast.live.services import live_recording_save, live_session_progress
from ruralcast.live.stream import Broadcast, Publish, recording_dir
from ruralcast.messaging.client import MqttLink, Publication, platform_client_id
from ruralcast.signing.services import signer_active

log = logging.getLogger(__name__)

_lock = threading.Lock()
_link = None
_active: dict[int, Broadcast] = {}


def _mqtt_publish() -> Publish:
    """Publish through this process's platform link (started on first use)."""
    global _link

    with _lock:
        if _link is None:
            _link = MqttLink(client_id=platform_client_id("live")).start(wait=5.0)
        link = _link

    def publish(messages: Sequence[tuple[str, bytes, int]]) -> None:
        link.publish_all([Publication(topic, payload, qos=qos) for topic, payload, qos in messages], timeout=5.0)

    return publish


# Tests and the benchmark may replace how a broadcast publishes; production publishes over MQTT.
publisher_factory: Callable[[], Publish] = _mqtt_publish


def link_stop() -> None:
    global _link
    with _lock:
        if _link is not None:
            _link.stop()
            _link = None


def broadcast_begin(session: LiveSession) -> Broadcast:
    """Put a started session on the air (signer read, `start` published, encoder running)."""
    with _lock:
        existing = _active.get(session.pk)
    if existing is not None:
        return existing
    broadcast = Broadcast(
        session_id=session.pk,
        areas=[session.target_id],
        tier=session.tier,
        signer=signer_active(),
        publish=publisher_factory(),
        recording=recording_dir() / f"{session.pk}.pcm",
    )
    broadcast.open()
    with _lock:
        _active[session.pk] = broadcast
    return broadcast


def broadcast_get(session_id: int) -> Broadcast | None:
    with _lock:
        return _active.get(session_id)


def live_session_is_on(session_id: int) -> bool:
    return LiveSession.objects.filter(pk=session_id, state=LiveState.LIVE).exists()


def broadcast_finish(session_id: int, *, record: bool = True) -> LiveSession | None:
    """Take a broadcast off the air (if this process holds it) and keep its recording."""
    with _lock:
        broadcast = _active.pop(session_id, None)
    if broadcast is None:
        return None
    broadcast.close()
    live_session_progress(session_id=session_id, chunks=broadcast.chunks, seconds=broadcast.seconds)
    if record and broadcast.recording is not None:
        try:
            return live_recording_save(session_id=session_id, pcm_path=broadcast.recording)
        except Exception:
            log.exception("the recording of live session %s could not be kept", session_id)
    return LiveSession.objects.get(pk=session_id)
