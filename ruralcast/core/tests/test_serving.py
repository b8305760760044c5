"""The one door for stored files (core.serving): types as decided, downloads, ranges that stream.

The audit measured `Range: bytes=0-` on a 300 MiB file growing the server by 300 MiB (issue 12,
item 11): the range was read whole into memory. Under ASGI even the whole-file path did that
(Django's `FileResponse` has a synchronous iterator, which `StreamingHttpResponse.__aiter__` reads
into a list first). These tests hold the body to bounded blocks on both paths.
"""

import asyncio
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import RequestFactory

from ruralcast.core.ranged import BLOCK_BYTES, FileStreamResponse
from ruralcast.core.serving import StoredFile, file_headers, stored_file_response

# Closing a response sends request_finished, which looks at the database connections.
pytestmark = pytest.mark.django_db

LARGE = 300 * 1024 * 1024


@pytest.fixture
def media_root(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.RURALCAST_ACCEL_REDIRECT_PREFIX = ""
    return tmp_path


@pytest.fixture
def large_file(media_root: Path) -> StoredFile:
    """A 300 MiB sparse file (no disk used) with a marker at both ends."""
    path = media_root / "big" / "recording.mp3"
    path.parent.mkdir()
    with path.open("wb") as handle:
        handle.write(b"START")
        handle.truncate(LARGE - 3)
        handle.seek(LARGE - 3)
        handle.write(b"END")
    return StoredFile(name="big/recording.mp3", content_type="audio/mpeg")


def _get(**headers: str) -> Any:
    return RequestFactory().get("/file", headers=headers)


@pytest.mark.parametrize("range_header", ["bytes=0-", ""])
def test_a_large_file_or_range_streams_in_bounded_blocks_through_the_synchronous_path(
    large_file: StoredFile, range_header: str
) -> None:
    headers = {"Range": range_header} if range_header else {}
    response = stored_file_response(_get(**headers), large_file, cache_control="private")
    assert isinstance(response, FileStreamResponse) and response.streaming
    assert response.status_code == (206 if range_header else 200)
    assert response["Content-Length"] == str(LARGE)
    tracemalloc.start()
    try:
        total, first, last, biggest = 0, b"", b"", 0
        for chunk in response:
            first = first or chunk
            biggest, total, last = max(biggest, len(chunk)), total + len(chunk), chunk
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        response.close()
    assert total == LARGE and first.startswith(b"START") and last.endswith(b"END")
    assert biggest <= BLOCK_BYTES
    assert peak < 8 * BLOCK_BYTES, f"peak {peak} bytes held while streaming 300 MiB"


def test_under_asgi_the_body_is_read_block_by_block_not_into_a_list_first(large_file: StoredFile) -> None:
    response = stored_file_response(_get(Range="bytes=0-"), large_file, cache_control="private")
    assert isinstance(response, FileStreamResponse)

    async def consume() -> tuple[int, int]:
        total = biggest = 0
        async for chunk in response:
            total, biggest = total + len(chunk), max(biggest, len(chunk))
        return total, biggest

    tracemalloc.start()
    try:
        total, biggest = asyncio.run(consume())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        response.close()
    assert total == LARGE and biggest <= BLOCK_BYTES
    assert peak < 8 * BLOCK_BYTES, f"peak {peak} bytes held while streaming 300 MiB under ASGI"


def test_ranges_validators_and_small_files(media_root: Path) -> None:
    data = bytes(range(256)) * 4
    name = default_storage.save("clips/a.mp3", io.BytesIO(data))
    stored = StoredFile(name=name, content_type="audio/mpeg")
    whole = stored_file_response(_get(), stored, cache_control="public", etag='"v1"')
    assert whole.status_code == 200 and whole.getvalue() == data  # type: ignore[attr-defined]
    assert whole["Accept-Ranges"] == "bytes" and whole["ETag"] == '"v1"'
    part = stored_file_response(_get(Range="bytes=10-19"), stored, cache_control="public", etag='"v1"')
    assert part.status_code == 206 and part.getvalue() == data[10:20]  # type: ignore[attr-defined]
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = stored_file_response(_get(Range="bytes=-5"), stored, cache_control="public", etag='"v1"')
    assert tail.getvalue() == data[-5:]  # type: ignore[attr-defined]
    beyond = stored_file_response(_get(Range="bytes=5000-"), stored, cache_control="public", etag='"v1"')
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"
    stale = stored_file_response(
        _get(Range="bytes=0-1", **{"If-Range": '"v0"'}), stored, cache_control="p", etag='"v1"'
    )
    assert stale.status_code == 200, "If-Range of another version: the whole file"
    several = stored_file_response(_get(Range="bytes=0-1,5-6"), stored, cache_control="public", etag='"v1"')
    assert several.status_code == 200
    same = stored_file_response(_get(**{"If-None-Match": '"v1"'}), stored, cache_control="public", etag='"v1"')
    assert same.status_code == 304 and same["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content_type", "attachment", "inline"),
    [
        ("image/png", False, True),
        ("video/mp2t", False, True),
        ("audio/mpeg", False, True),
        ("image/png", True, False),
        ("image/svg+xml", False, False),  # a document that can carry script
        ("text/html", False, False),
        ("application/pdf", False, False),
        ("", False, False),
    ],
)
def test_only_pictures_audio_and_video_are_shown_in_place(content_type: str, attachment: bool, inline: bool) -> None:
    headers = file_headers(StoredFile(name="x/y.bin", content_type=content_type, attachment=attachment))
    assert headers["Content-Type"] == (content_type or "application/octet-stream")
    assert headers["Content-Disposition"].startswith("inline" if inline else "attachment")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert (
        headers["Content-Security-Policy"].startswith("default-src 'none'")
        and "sandbox" in headers["Content-Security-Policy"]
    )


def test_a_download_keeps_a_chinese_name_in_the_rfc_6266_form() -> None:
    headers = file_headers(StoredFile(name="r/1.bin", content_type="application/zip", download_name="巡检表.xlsx"))
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''%E5%B7%A1%E6%A3%80%E8%A1%A8.xlsx"


def test_with_nginx_in_front_the_answer_names_the_file_for_nginx_and_carries_no_body(
    media_root: Path, settings: Any
) -> None:
    settings.RURALCAST_ACCEL_REDIRECT_PREFIX = "/_protected/"
    name = default_storage.save("reporting/巡 检.bin", io.BytesIO(b"data"))
    response = stored_file_response(
        _get(Range="bytes=0-1"), StoredFile(name=name, content_type="application/octet-stream"), cache_control="private"
    )
    assert response.status_code == 200 and response.content == b""  # type: ignore[attr-defined]
    assert response["X-Accel-Redirect"] == "/_protected/reporting/%E5%B7%A1%20%E6%A3%80.bin"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
