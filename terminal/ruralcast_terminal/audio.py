"""Audio on the terminal: inline, attached or by URL, checked against its signed SHA-256, cached by it.

`AudioCache.fetch` turns a verified payload's `audio` member into a local file the sink can play, or
raises `AudioError` (`AttachmentError` when the message's own attachment is wrong: trying again
cannot help). A file is only ever written under its name after its hash matched, so whatever is in
the cache is what the platform signed. The agent keeps alert audio in `cache_dir/audio/` and the
programme's in `cache_dir/programme/` (`playout.py`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ruralcast_terminal import protocol


class AudioError(Exception):
    pass


class AttachmentError(AudioError):
    """The message's own attachment is missing or wrong: trying again cannot help."""


EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/aac": ".aac",
}


class AudioCache:
    """Audio files by SHA-256 in one directory; a file is only ever written after its hash matched."""

    def __init__(self, directory: Path, *, max_bytes: int = 50 * 1024 * 1024, timeout: float = 30.0) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _target(self, sha256: str, mime: str) -> Path:
        return self.directory / f"{sha256}{EXTENSIONS.get(mime, '.bin')}"

    def _store(self, target: Path, raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".part-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, target)

    async def fetch(self, audio: Any, attachment: bytes | None = None) -> Path | None:
        """The verified local file of a payload's `audio` (None when the alert carries none).

        The audio comes attached to the message (`attachment`, protocols.md §3), inline in the
        payload, or from its URL; whichever it is, it must match the signed SHA-256."""
        if audio is None:
            return None
        if not isinstance(audio, dict):
            raise AudioError("audio is not an object")
        sha256 = audio.get("sha256")
        if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
            raise AudioError("audio.sha256 is not a lowercase SHA-256")
        target = self._target(sha256, str(audio.get("mime", "")))
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
            return target
        inline, url = audio.get("inline"), audio.get("url")
        if audio.get("attached") is True:
            try:
                raw = protocol.attached_audio(audio, attachment) or b""
            except ValueError as exc:
                raise AttachmentError(str(exc)) from None
        elif isinstance(inline, str) and inline:
            try:
                raw = base64.b64decode(inline, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AudioError(f"inline audio is not base64: {exc}") from None
        elif isinstance(url, str) and url:
            raw = await asyncio.to_thread(self._download, url)
        else:
            raise AudioError("audio has neither inline data nor a URL")
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise AudioError("audio does not match its SHA-256")
        self._store(target, raw)
        return target

    def _download(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise AudioError(f"audio URL scheme not allowed: {url[:40]}")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (scheme checked)
                raw = response.read(self.max_bytes + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AudioError(f"audio download failed: {exc}") from None
        if len(raw) > self.max_bytes:
            raise AudioError(f"audio larger than {self.max_bytes} bytes")
        return raw
