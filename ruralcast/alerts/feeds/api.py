"""Read-only API schemas of CAP feed subscriptions (the operations are in `alerts.api`, registered
before its /{ebm_id} routes). Feeds are registered and changed in the console."""

from datetime import datetime

from ninja import Field, Schema

from ruralcast.alerts.feeds.selectors import feed_entries
from ruralcast.alerts.models import FeedEntry, FeedSubscription


class FeedEntryOut(Schema):
    url: str
    sender: str
    identifier: str
    sent: str
    outcome: str = Field(..., description="imported, duplicate or refused")
    reason: str = Field(..., description="why it was refused (empty otherwise)")
    alert: str | None = Field(None, description="EBM id of the draft it became (or duplicated)")
    fetched_at: datetime

    @staticmethod
    def resolve_alert(entry: FeedEntry) -> str | None:
        return entry.alert.ebm_id if entry.alert is not None else None


class FeedOut(Schema):
    id: int
    name: str
    url: str
    issuer_region: str = Field(..., alias="issuer_region_id")
    regions: list[str] = Field(..., description="codes of the regions its messages may target")
    pinned: bool = Field(..., description="a certificate is pinned: unsigned or wrongly signed messages are refused")
    enabled: bool
    interval_seconds: int
    last_polled_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime
    failures: int = Field(..., description="consecutive failed polls (the back-off doubles with each)")
    last_error: str

    @staticmethod
    def resolve_regions(feed: FeedSubscription) -> list[str]:
        return sorted(r.code for r in feed.regions.all())

    @staticmethod
    def resolve_pinned(feed: FeedSubscription) -> bool:
        return bool(feed.certificate_pem)


class FeedDetailOut(FeedOut):
    entries: list[FeedEntryOut] = Field(..., description="the last 50 messages read, newest first")

    @staticmethod
    def resolve_entries(feed: FeedSubscription) -> list[FeedEntry]:
        return list(feed_entries(feed=feed))
