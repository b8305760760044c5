"""Reads of CAP feed subscriptions, by the reader's `feed.manage` scope."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts.models import EntryOutcome, FeedEntry, FeedSubscription
from ruralcast.core.errors import NotFound


def feed_list(*, user: User) -> QuerySet[FeedSubscription]:
    """The feeds whose platform lies in the user's `feed.manage` scope."""
    scope = action_scope_q(user=user, action=Action.FEED_MANAGE, field="issuer_region__code")
    if scope is None:
        return FeedSubscription.objects.none()
    return FeedSubscription.objects.filter(scope).select_related("issuer_region").prefetch_related("regions")


def access_feed(*, user: User, feed_id: int) -> FeedSubscription:
    feed = feed_list(user=user).filter(pk=feed_id).first()
    if feed is None:
        raise NotFound(_("No such feed in your regions."))
    return feed


def feed_entries(*, feed: FeedSubscription, limit: int = 50) -> QuerySet[FeedEntry]:
    return feed.entries.select_related("alert")[:limit]


def alert_feed_entry(*, alert_id: int) -> FeedEntry | None:
    """The feed entry a draft came from (None: not from a feed)."""
    return (
        FeedEntry.objects.filter(alert_id=alert_id, outcome=EntryOutcome.IMPORTED)
        .select_related("subscription")
        .first()
    )
