"""How the alert documents write times: one time zone per document, its offset always shown.

People read the deployment's time zone (`settings.TIME_ZONE`, Beijing time by default) with the UTC
offset written next to every time: the console pages, the live page, the xlsx and the PDF proof of
broadcast (its header and its rows alike). Machine exports (CSV) keep UTC, in ISO 8601 with the
`+00:00` offset, and say so in their column names.
"""

from datetime import UTC, datetime

from django.utils import timezone


def _offset(value: datetime) -> str:
    text = value.strftime("%z")  # "+0800"
    return f"{text[:3]}:{text[3:]}" if text else ""


def local_text(value: datetime | None, *, seconds: bool = True) -> str:
    """`2026-11-27 12:00:00 +08:00` in the deployment's time zone ("" for None)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{local.strftime('%Y-%m-%d %H:%M:%S' if seconds else '%Y-%m-%d %H:%M')} {_offset(local)}"


def utc_text(value: datetime | None) -> str:
    """`2026-11-27T04:00:00+00:00` (ISO 8601, UTC) for machine exports ("" for None)."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def zone_label(at: datetime | None = None) -> str:
    """The deployment's time zone as a document header states it: `Asia/Shanghai (UTC+08:00)`."""
    local = timezone.localtime(at or timezone.now())
    return f"{timezone.get_current_timezone_name()} (UTC{_offset(local)})"
