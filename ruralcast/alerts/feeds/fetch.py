"""Fetching a feed or a message: allowed hosts only, bounded size and time, conditional GET.

Every refusal is a `FetchError` whose message says what an administrator should fix; the poller
records it as the feed's error. Redirects are followed only to allowed hosts.
"""

import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class FetchError(Exception):
    """`permanent`: fetching again will not help (host not allowed, too large, gone)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message, self.permanent = message, permanent


@dataclass
class Fetched:
    status: int  # 200, or 304 (not modified: body empty)
    body: bytes
    etag: str = ""
    last_modified: str = ""


def host_check(url: str) -> None:
    """Refuse a URL that is not http(s) on a host of RURALCAST_CAP_FEED_HOSTS."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(_("“%(url)s” is not an http or https address.") % {"url": url[:200]}, permanent=True)
    allowed = {h.strip().lower() for h in settings.RURALCAST_CAP_FEED_HOSTS if h.strip()}
    host = (parts.hostname or "").lower()
    if host not in allowed:
        raise FetchError(
            _("host “%(host)s” is not in the allowed feed hosts (RURALCAST_CAP_FEED_HOSTS).") % {"host": host},
            permanent=True,
        )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        host_check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_CheckedRedirects)


def fetch(url: str, *, max_bytes: int, etag: str = "", last_modified: str = "") -> Fetched:
    """GET `url` (conditional when `etag` or `last_modified` is given); FetchError on any refusal."""
    host_check(url)
    headers = {"User-Agent": "ruralcast-cap-feed/1", "Accept": "application/xml, application/atom+xml, */*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    timeout = settings.RURALCAST_CAP_FEED["TIMEOUT_SECONDS"]
    try:
        response: Any = _opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(status=304, body=b"", etag=etag, last_modified=last_modified)
        message = _("%(url)s answered HTTP %(code)s.") % {"url": url[:200], "code": error.code}
        raise FetchError(message, permanent=error.code in (404, 410)) from error
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(
            _("%(url)s could not be fetched: %(reason)s") % {"url": url[:200], "reason": reason}
        ) from error
    with response:
        length = response.headers.get("Content-Length")
        too_big = _("%(url)s is larger than the limit of %(limit)s bytes.") % {"url": url[:200], "limit": max_bytes}
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError(too_big, permanent=True)
        try:
            body = response.read(max_bytes + 1)
        except OSError as error:
            raise FetchError(
                _("%(url)s could not be read: %(reason)s") % {"url": url[:200], "reason": error}
            ) from error
        if len(body) > max_bytes:
            raise FetchError(too_big, permanent=True)
        return Fetched(
            status=response.status,
            body=body,
            etag=response.headers.get("ETag", "")[:200],
            last_modified=response.headers.get("Last-Modified", "")[:100],
        )
