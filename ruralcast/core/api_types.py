"""Types shared by the API schemas."""

from datetime import UTC, datetime
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator


def _to_utc(value: datetime) -> datetime:
    """Any offset Python accepts (±23:59) to UTC, which every database stores (PostgreSQL refuses
    offsets beyond ±15:59); a time without offset is read in the platform's time zone."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as error:
        raise ValueError("the date and time is out of range") from error


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
