"""Writes to CAP feed subscriptions: register, change, remove (the poll is in `feeds.poller`).

Scope is checked on the targets: the actor needs `feed.manage` on the issuing platform and on every
region the feed may target, and the targets lie inside the platform. Each subscription gets its own
system account (no password; one `cap_feed` grant on the platform) that drafts its messages.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require_all
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action, Role
from ruralcast.accounts.services import role_grant, user_create
from ruralcast.alerts.feeds.fetch import FetchError, host_check
from ruralcast.alerts.feeds.poller import PollResult, feed_poll
from ruralcast.alerts.feeds.signature import certificate_check
from ruralcast.alerts.models import FeedSubscription
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ValidationError
from ruralcast.regions.models import Region

MIN_INTERVAL_SECONDS = 60


@dataclass
class FeedFields:
    name: str
    url: str
    regions: list[Region]
    certificate_pem: str = ""
    enabled: bool = True
    interval_seconds: int = 300


def _summary(feed: FeedSubscription) -> dict[str, Any]:
    return {
        "name": feed.name,
        "url": feed.url,
        "issuer_region": feed.issuer_region_id,
        "regions": sorted(r.code for r in feed.regions.all()),
        "pinned": bool(feed.certificate_pem),
        "enabled": feed.enabled,
        "interval_seconds": feed.interval_seconds,
        "account": feed.account.username,
    }


def _clean(fields: FeedFields, issuer_region: Region) -> FeedFields:
    problems: dict[str, list[str]] = {}
    fields.name = fields.name.strip()
    if not fields.name:
        problems["name"] = [_("Give the feed a name.")]
    fields.url = fields.url.strip()
    try:
        host_check(fields.url)
    except FetchError as error:
        problems["url"] = [error.message]
    if not fields.regions:
        problems["regions"] = [_("Choose at least one region the feed may target.")]
    outside = [r.name for r in fields.regions if not issuer_region.contains(r)]
    if outside:
        problems["regions"] = [
            _("Outside the issuing platform %(platform)s: %(regions)s")
            % {"platform": issuer_region.name, "regions": ", ".join(outside)}
        ]
    if fields.certificate_pem.strip():
        try:
            fields.certificate_pem = certificate_check(fields.certificate_pem)
        except ValueError as error:
            problems["certificate_pem"] = [str(error)]
    else:
        fields.certificate_pem = ""
    if fields.interval_seconds < MIN_INTERVAL_SECONDS:
        problems["interval_seconds"] = [_("Poll at most once a minute.")]
    if problems:
        raise ValidationError(_("Please correct the marked fields."), fields=problems)
    return fields


def feed_create(*, actor: User, issuer_region: Region, fields: FeedFields) -> FeedSubscription:
    """Register a feed whose messages become drafts of `issuer_region`'s platform."""
    access_require_all(user=actor, action=Action.FEED_MANAGE, regions=[issuer_region, *fields.regions])
    fields = _clean(fields, issuer_region)
    with transaction.atomic():
        account = user_create(
            actor=None,
            username=f"cap-feed-{secrets.token_hex(4)}",
            password=secrets.token_urlsafe(32),
            home_region=issuer_region,
            full_name=_("CAP feed: %(name)s") % {"name": fields.name[:120]},
        )
        account.set_unusable_password()  # a system account: nobody logs in as it
        account.save(update_fields=["password"])
        role_grant(actor=None, user=account, role=Role.CAP_FEED, region=issuer_region)
        feed = FeedSubscription.objects.create(
            name=fields.name,
            url=fields.url,
            issuer_region=issuer_region,
            certificate_pem=fields.certificate_pem,
            enabled=fields.enabled,
            interval_seconds=fields.interval_seconds,
            account=account,
            created_by=actor,
        )
        feed.regions.set(fields.regions)
        audit_record(actor=actor, verb="feed.create", obj=feed, region_code=issuer_region.code, after=_summary(feed))
    return feed


def feed_update(*, actor: User, feed: FeedSubscription, fields: FeedFields) -> FeedSubscription:
    """Change a feed (its platform stays). A changed URL starts afresh: no ETag, polled now."""
    before = _summary(feed)
    access_require_all(
        user=actor, action=Action.FEED_MANAGE, regions=[feed.issuer_region, *feed.regions.all(), *fields.regions]
    )
    fields = _clean(fields, feed.issuer_region)
    with transaction.atomic():
        if fields.url != feed.url:
            feed.etag, feed.last_modified = "", ""
        if fields.url != feed.url or (fields.enabled and not feed.enabled):
            feed.next_poll_at, feed.failures = timezone.now(), 0
        feed.name, feed.url, feed.certificate_pem = fields.name, fields.url, fields.certificate_pem
        feed.enabled, feed.interval_seconds = fields.enabled, fields.interval_seconds
        feed.save()
        feed.regions.set(fields.regions)
        audit_record(
            actor=actor,
            verb="feed.update",
            obj=feed,
            region_code=feed.issuer_region_id,
            before=before,
            after=_summary(feed),
        )
    return feed


def feed_delete(*, actor: User, feed: FeedSubscription) -> None:
    """Remove a feed. Its drafts stay; its account is deactivated (it created them)."""
    access_require_all(user=actor, action=Action.FEED_MANAGE, regions=[feed.issuer_region, *feed.regions.all()])
    before = _summary(feed)
    with transaction.atomic():
        account = feed.account
        audit_record(actor=actor, verb="feed.delete", obj=feed, region_code=feed.issuer_region_id, before=before)
        feed.delete()
        account.is_active = False
        account.save(update_fields=["is_active"])


def feed_poll_now(*, actor: User, feed: FeedSubscription) -> PollResult:
    """The console's "poll now": an administrator of the feed polls it at once (audited)."""
    access_require_all(user=actor, action=Action.FEED_MANAGE, regions=[feed.issuer_region, *feed.regions.all()])
    result = feed_poll(feed=feed)
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="feed.poll",
            obj=feed,
            region_code=feed.issuer_region_id,
            after={"status": result.status, "entries": len(result.entries), "error": result.error[:500]},
        )
    return result
