"""Rule 7 on the terminal: the (EBM id, message type) pairs already handled, and withdrawn alerts.

`DedupeStore` is what makes a retained alert, delivered again on every reconnect, play once; and what
lets a Cancel or Update that arrives before its original stop the original from ever playing. The
router (`router.py`) decides what goes in; the agent saves it after every change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


class DedupeStore:
    """(ebm_id, msg_type) pairs already handled, and EBM ids withdrawn by a Cancel or Update.

    A pair is `add`ed when the message is accepted and `complete`d once it is dealt with (played
    to the end, cancelled, failed, expired). Only completed pairs survive a restart: an alert that
    was interrupted by a power cut, or still waiting in the queue, is accepted again when the
    broker redelivers it (retained) and plays from the start — a played alert is never replayed.

    Entries are kept until their alert expires (after that rule 5 refuses the message anyway) plus
    a day of margin for clock skew. With a `path` the store is a JSON file rewritten atomically on
    every change (a handful of entries on a real terminal); without one it lives in memory (the
    simulator's virtual terminals).
    """

    KEEP_AFTER_EXPIRY = timedelta(days=1)

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._seen: dict[tuple[str, str], tuple[datetime, bool]] = {}  # → (keep until, completed)
        self._withdrawn: dict[str, datetime] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
            for ebm_id, msg_type, until, completed in data.get("seen", []):
                if completed:
                    self._seen[(ebm_id, msg_type)] = (datetime.fromisoformat(until), True)
            for ebm_id, until in data.get("withdrawn", []):
                self._withdrawn[ebm_id] = datetime.fromisoformat(until)
        except (OSError, ValueError, TypeError) as exc:
            # A corrupt store must not stop the loudspeaker; the cost is that alerts still valid
            # may be played once more.
            log.error("dedupe store %s unreadable (%s); starting empty", path, exc)
            self._seen.clear()
            self._withdrawn.clear()

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "seen": [[e, m, t.isoformat(), done] for (e, m), (t, done) in self._seen.items()],
            "withdrawn": [[e, t.isoformat()] for e, t in self._withdrawn.items()],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".seen-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def seen(self, ebm_id: str, msg_type: str) -> bool:
        return (ebm_id, msg_type) in self._seen

    def add(self, ebm_id: str, msg_type: str, expires: datetime) -> None:
        self._seen[(ebm_id, msg_type)] = (expires + self.KEEP_AFTER_EXPIRY, False)

    def complete(self, ebm_id: str, msg_type: str) -> None:
        entry = self._seen.get((ebm_id, msg_type))
        if entry is not None:
            self._seen[(ebm_id, msg_type)] = (entry[0], True)

    def withdraw(self, ebm_id: str, expires: datetime) -> None:
        self._withdrawn[ebm_id] = expires + self.KEEP_AFTER_EXPIRY

    def is_withdrawn(self, ebm_id: str) -> bool:
        return ebm_id in self._withdrawn

    def prune(self, now: datetime) -> None:
        self._seen = {k: v for k, v in self._seen.items() if v[0] >= now}
        self._withdrawn = {k: t for k, t in self._withdrawn.items() if t >= now}

    def __len__(self) -> int:
        return len(self._seen)
