"""Serving a stored file: the one door for every upload and every file the platform made.

The audit found a work-order "photo" named `x.html` served as `text/html` from the console's own
origin: stored cross-site scripting. The rules every file view follows, here once:

- **The content type is what the platform decided** when it stored the file: recorded with the row
  at upload from the file's content (`core.filetypes.content_type_sniff`, ffprobe for media), or
  fixed by the platform's own encoding (alert and programme audio are MP3 because ffmpeg made them
  so). Never the file's name, never the uploader's `Content-Type`. The caller passes it in.
- **Inline only for pictures, audio and video a browser shows as such** (`INLINE_TYPES`); anything
  else is `Content-Disposition: attachment`, so a browser saves it instead of rendering it.
- **`X-Content-Type-Options: nosniff`** on every file (Django's SecurityMiddleware adds it to every
  other response), and a sandboxing Content-Security-Policy of the file's own, so a file opened as a
  page can run nothing and reach nothing even if a browser mistook it.
- Ranges, validators and caching headers as terminals and players need them, with a body that
  streams in bounded blocks (`core.ranged`).
- **nginx sends the bytes when it is in front** (`RURALCAST_ACCEL_REDIRECT_PREFIX`, set by
  `make run` and in deployments, see docs/deploy.md): the view has checked access, this answers with
  `X-Accel-Redirect` and the same headers, and nginx serves the file from its internal location.
"""

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.http import content_disposition_header

from ruralcast.core.ranged import FileStreamResponse, Unsatisfiable, byte_range

# What a browser may show in place: pictures it cannot execute, audio and video (and HLS playlists,
# which only a player reads). SVG is deliberately absent: it is a document that can carry script.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/wav",
        "audio/ogg",
        "video/mp4",
        "video/mp2t",
        "video/webm",
        "application/vnd.apple.mpegurl",
    }
)
OCTET_STREAM = "application/octet-stream"
# The policy of a file's own response (as GitHub serves raw files): nothing runs, nothing loads
# but the file itself, and a document is put in a sandbox with an opaque origin.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


@dataclass(frozen=True)
class StoredFile:
    """A file in storage as the platform decided to serve it."""

    name: str  # the storage name
    content_type: str  # decided by the platform (see the module docstring), never guessed here
    download_name: str = ""  # the name a browser saves an attachment under (default: the base name)
    attachment: bool = False  # force a download even for an inline type


def accel_prefix() -> str:
    """The internal nginx location over MEDIA_ROOT, or "" when Django sends the bytes itself."""
    return str(getattr(settings, "RURALCAST_ACCEL_REDIRECT_PREFIX", "") or "")


def _under_media_root(storage: Storage) -> bool:
    """nginx's internal location aliases MEDIA_ROOT: only files of a local storage there go by it."""
    return isinstance(storage, FileSystemStorage) and storage.location == os.path.abspath(settings.MEDIA_ROOT)


def file_headers(stored: StoredFile) -> dict[str, str]:
    """Content type, disposition and the protective headers of a stored file's response."""
    content_type = stored.content_type or OCTET_STREAM
    inline = content_type in INLINE_TYPES and not stored.attachment
    download = stored.download_name or PurePosixPath(stored.name).name
    return {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition_header(not inline, download) or "attachment",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }


def stored_file_response(
    request: HttpRequest,
    stored: StoredFile,
    *,
    cache_control: str,
    etag: str | None = None,
    storage: Storage | None = None,
    read_whole_below: int = 64 * 1024,
) -> HttpResponseBase:
    """200, 206, 304 or 416 for a stored file that exists, with the headers of `file_headers`.

    Bodies (whole or a range) smaller than `read_whole_below` bytes are answered in one piece
    (under ASGI a streamed body costs a thread hop per block; HLS segments are small); larger ones
    stream in bounded blocks. With nginx in front the answer carries no body but
    `X-Accel-Redirect`, and nginx serves ranges and validators itself."""
    storage = storage or default_storage
    size = storage.size(stored.name)
    if etag is None:
        try:
            modified = storage.get_modified_time(stored.name).timestamp()
        except NotImplementedError:
            modified = 0
        etag = f'"{size:x}-{int(modified * 1000):x}"'
    headers = {**file_headers(stored), "Accept-Ranges": "bytes", "Cache-Control": cache_control, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    prefix = accel_prefix()
    if prefix and _under_media_root(storage):
        response = HttpResponse(headers=headers)
        # Percent-encoded: nginx decodes the URI of X-Accel-Redirect before it maps it to a file.
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(stored.name)
        return response
    try:
        wanted = byte_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted and request.headers.get("If-Range", etag) != etag:
        wanted = None  # the client's copy is of another version: send it all
    start, end = wanted or (0, size - 1)
    length = end - start + 1 if size else 0
    status = 206 if wanted else 200
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if length < read_whole_below:
        with storage.open(stored.name, "rb") as handle:
            handle.seek(start)
            body = handle.read(length)
        return HttpResponse(body, status=status, headers={**headers, "Content-Length": str(len(body))})
    stream = FileStreamResponse(storage.open(stored.name, "rb"), start=start, length=length, status=status)
    for key, value in headers.items():
        stream[key] = value
    return stream
