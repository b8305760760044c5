"""Serving a stored file with HTTP range requests, validators and caching headers.

Terminals resume downloads and video players seek with `Range: bytes=…`; browsers and CDNs revalidate
with `If-None-Match`. One function answers all of that for any file in a Django storage; in a
deployment nginx can take over the body with `X-Accel-Redirect` (see docs/media.md) while Django
keeps the access check.
"""

import re

from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(
    request: HttpRequest,
    name: str,
    *,
    content_type: str,
    cache_control: str,
    etag: str | None = None,
    storage: Storage | None = None,
    accel_prefix: str = "",
    read_whole_below: int = 0,
) -> HttpResponseBase:
    """200, 206, 304 or 416 for the stored file `name` (which must exist).

    Files smaller than `read_whole_below` bytes are answered in one body instead of streamed:
    under ASGI a streamed file costs a thread hop per block (HLS segments are small)."""
    storage = storage or default_storage
    size = storage.size(name)
    if etag is None:
        modified = storage.get_modified_time(name).timestamp() if hasattr(storage, "get_modified_time") else 0
        etag = f'"{size:x}-{int(modified * 1000):x}"'
    headers = {"Accept-Ranges": "bytes", "Cache-Control": cache_control, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers=headers)
    if accel_prefix:
        response = HttpResponse(content_type=content_type, headers=headers)
        response["X-Accel-Redirect"] = accel_prefix.rstrip("/") + "/" + name
        return response
    match = _RANGE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:
            start, end = max(size - int(match.group(2)), 0), size - 1
        if start >= size or start > end:
            return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        with storage.open(name, "rb") as handle:
            handle.seek(start)
            chunk = handle.read(end - start + 1)
        return HttpResponse(
            chunk,
            status=206,
            content_type=content_type,
            headers={**headers, "Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(len(chunk))},
        )
    if size < read_whole_below:
        with storage.open(name, "rb") as handle:
            return HttpResponse(
                handle.read(), content_type=content_type, headers={**headers, "Content-Length": str(size)}
            )
    whole = FileResponse(storage.open(name, "rb"), content_type=content_type)
    whole.block_size = 1024 * 1024
    for key, value in headers.items():
        whole[key] = value
    whole["Content-Length"] = str(size)
    return whole
