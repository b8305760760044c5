"""Speak live from a line-in, a file or a stream: `manage.py live_feed --user U --target CODE SOURCE`.

SOURCE is anything ffmpeg reads (a file, an http/rtmp URL) or `alsa:<device>` for a sound card's
line-in. The session is started as USER (their rights apply: `broadcast.live` on the target), the
audio goes through the same encoder, signatures and MQTT topics as the browser's microphone, and the
session ends when the source ends, on Ctrl-C, or when someone stops it in the console or the API.
Prints one JSON line with the session id, chunks, seconds and end reason.
"""

import json
import signal
import statistics
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ruralcast.accounts.models import User
from ruralcast.core.errors import ApplicationError
from ruralcast.live.feed import feed_session, source_frames
from ruralcast.live.models import LiveSource
from ruralcast.live.runtime import broadcast_begin, broadcast_finish, link_stop, live_session_is_on
from ruralcast.live.services import live_session_start, live_session_stop
from ruralcast.regions.selectors import region_get


class Command(BaseCommand):
    help = "Speak live to a region from a line-in, file or stream (through ffmpeg)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="file, URL, or alsa:<device>")
        parser.add_argument("--user", required=True, help="the speaker (needs broadcast.live on the target)")
        parser.add_argument("--target", required=True, help="12-digit code of the region spoken to")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
        parser.add_argument("--no-realtime", action="store_true", help="read a file as fast as possible")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        try:
            session = live_session_start(
                actor=user, target=region_get(code=options["target"], field="target"), source=LiveSource.LINE_IN
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        interrupted = False

        def stop(*_args: Any) -> None:
            nonlocal interrupted
            interrupted = True
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        broadcast = broadcast_begin(session)
        reason = "end"
        try:
            reason = feed_session(
                session.pk,
                source_frames(options["source"], realtime=not options["no_realtime"], seconds=options["seconds"]),
                feed=broadcast.feed,
                still_on=lambda: live_session_is_on(session.pk),
            )
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            live_session_stop(actor=None, session=session, reason=reason)
            ended = broadcast_finish(session.pk)
            link_stop()
        result = {
            "session": session.pk,
            "chunks": broadcast.chunks,
            "seconds": round(broadcast.seconds, 3),
            "reason": reason,
            "recording": ended.recording_id if ended is not None else None,
            # Capture → signed chunk handed to the broker (frame, encoder look-ahead, chunking, signing).
            "server_ms_p50": round(statistics.median(broadcast.encode_ms)) if broadcast.encode_ms else None,
            "server_ms_max": round(max(broadcast.encode_ms)) if broadcast.encode_ms else None,
            "message_bytes": broadcast.message_bytes,
        }
        self.stdout.write(json.dumps(result))
