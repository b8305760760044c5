"""HTTP byte ranges and a file body that streams in bounded blocks, under WSGI and ASGI alike.

Terminals resume downloads and video players seek with `Range: bytes=…`. The body of a large file
must never be held in memory: a county's 300 MiB recording asked for with `bytes=0-` is sent one
block at a time. Django's `FileResponse` does not do that under ASGI (uvicorn, our server): its
iterator is synchronous, and `StreamingHttpResponse.__aiter__` then reads the *whole* file into a
list in a thread before sending a byte. `FileStreamResponse` iterates the same bounded blocks from
both worlds: synchronously under WSGI and the test client, one block per worker-thread hop under
ASGI.

`ruralcast.core.serving` is the one caller: it decides content type, disposition and headers and
uses these pieces for the body.
"""

import re
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

BLOCK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    """The range starts after the end of the file (answer 416 with `Content-Range: bytes */size`)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) a single-range `Range` header asks for, or None for the whole file.

    Several ranges (`bytes=0-1,5-6`) and malformed headers are ignored, as RFC 9110 allows: the
    answer is then the whole file. Raises `Unsatisfiable` when no byte of the range exists."""
    match = _RANGE.match(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    if match.group(1):
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(size - int(match.group(2)), 0), size - 1
    if start >= size or start > end:
        raise Unsatisfiable
    return start, end


def file_blocks(handle: IO[bytes], *, start: int, length: int, block: int = BLOCK_BYTES) -> Iterator[bytes]:
    """`length` bytes of `handle` from `start`, in blocks of at most `block` bytes."""
    handle.seek(start)
    remaining = length
    while remaining > 0:
        chunk = handle.read(min(block, remaining))
        if not chunk:  # the file shrank under us: stop rather than loop
            return
        remaining -= len(chunk)
        yield chunk


class FileStreamResponse(StreamingHttpResponse):
    """A streaming response over an open file whose body is at most one block in memory at a time.

    The handle is closed when the response is closed (Django's handlers always do), including when
    the client hangs up half-way."""

    block_size = BLOCK_BYTES

    def __init__(self, handle: IO[bytes], *, start: int, length: int, **kwargs: Any) -> None:
        self._blocks = file_blocks(handle, start=start, length=length, block=self.block_size)
        self._handle = handle
        super().__init__(self._blocks, **kwargs)
        self["Content-Length"] = str(length)

    def close(self) -> None:
        try:
            self._handle.close()
        finally:
            super().close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Not the base class's `sync_to_async(list)(…)`, which would read the whole file first.
        # thread_sensitive=False: reads run in the default executor, not queued behind the one
        # thread that runs every synchronous view.
        step = sync_to_async(_next_block, thread_sensitive=False)
        while (chunk := await step(self._blocks)) is not None:
            yield chunk


def _next_block(blocks: Iterator[bytes]) -> bytes | None:
    return next(blocks, None)
