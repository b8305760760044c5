"""Links to media files, signed and expiring for region-restricted assets and lives.

A file URL is `/media/f/<key>/<path>` where `key` is the asset's uid for public and logged-in
assets, or `<uid>.<expiry>.<signature>` (HMAC over uid and expiry with the site's secret key,
django.core.signing) for region-restricted ones. The key sits in the path, not the query, so the
relative segment URLs inside an HLS playlist inherit it.
"""

import time

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SIGNER_SALT = "ruralcast.media.links"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SIGNER_SALT, sep=".")


def signed_key(uid: str, *, seconds: int | None = None) -> str:
    """A key valid for `seconds` (default: RURALCAST_MEDIA["SIGNED_URL_SECONDS"]); negative = expired."""
    lifetime = settings.RURALCAST_MEDIA["SIGNED_URL_SECONDS"] if seconds is None else seconds
    return _signer().sign(f"{uid}.{int(time.time()) + int(lifetime)}")


def key_check(key: str) -> tuple[str, bool]:
    """(uid, signature_valid_and_unexpired). A bare uid gives (uid, False)."""
    if key.count(".") != 2:
        return key, False
    try:
        value = _signer().unsign(key)
    except signing.BadSignature:
        return key.split(".", 1)[0], False
    uid, _, expiry = value.partition(".")
    return uid, expiry.isdigit() and int(expiry) >= time.time()


def file_url(key: str, path: str) -> str:
    return reverse("media:file", kwargs={"key": key, "path": path})


def live_url(key: str, path: str) -> str:
    return reverse("media:live_file", kwargs={"key": key, "path": path})
