"""Polling CAP feeds: index, new messages, signature, scope, draft (see the package docstring).

`feeds_poll_due` polls every enabled feed whose `next_poll_at` has come; `feed_poll` one feed:
1. a conditional GET of the index (If-None-Match / If-Modified-Since); 304: nothing to do;
2. the index is Atom or RSS (each entry's CAP link: an `application/cap+xml` link or enclosure,
   else its link) or a plain list of URLs, one a line; relative links are read against the feed;
3. each URL not seen before is fetched (allowed hosts, size limit); the messages are then read
   oldest `sent` first, each becoming one `FeedEntry`:
   - a pinned feed refuses an unsigned or wrongly signed message (`feeds.signature`);
   - the same (sender, identifier, sent) imported before (by any feed or file): duplicate;
   - a message targeting a region outside the subscription's regions: refused;
   - otherwise drafted through the CAP import by the feed's account (an Update or Cancel links to
     the message its `references` names) and the platform's approvers on duty are paged.
A failed poll (index or message unreachable, index too large or unreadable) doubles the wait
before the next one, up to RURALCAST_CAP_FEED["BACKOFF_MAX_SECONDS"]; a message that cannot be
fetched is tried again at the next poll, a refused one never (it is recorded with its reason,
which also becomes the feed's `last_error`).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import feedparser
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from ruralcast.alerts.feeds.fetch import FetchError, fetch
from ruralcast.alerts.feeds.signature import SignatureRefused, signed_root
from ruralcast.alerts.formats.cap import cap_parse
from ruralcast.alerts.formats.cap_read import CAP_NS
from ruralcast.alerts.formats.common import draft_create, xml_parse
from ruralcast.alerts.models import EntryOutcome, FeedEntry, FeedSubscription, ImportedMessage
from ruralcast.alerts.paging import feed_draft_page_open
from ruralcast.core.errors import ApplicationError

log = logging.getLogger(__name__)
CAP_TYPES = ("application/cap+xml", "application/common-alerting-protocol+xml")


@dataclass
class PollResult:
    status: str  # "not-modified", "polled" or "failed"
    entries: list[FeedEntry] = field(default_factory=list)
    error: str = ""


def index_urls(body: bytes, *, base: str) -> list[str] | None:
    """The message URLs an index lists, in its order, without repeats; None if it is no index."""
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    urls: list[str] = []
    if parsed.get("version") or parsed.entries:
        for entry in parsed.entries:
            links = entry.get("links", [])
            cap = [link["href"] for link in links if link.get("type") in CAP_TYPES and link.get("href")]
            href = cap[0] if cap else entry.get("link") or entry.get("id", "")
            if href:
                urls.append(urljoin(base, href.strip()))
    elif not body.lstrip().startswith(b"<"):
        for line in body.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                urls.append(urljoin(base, line))
        if not urls and body.strip():
            return None
    else:
        return None
    return list(dict.fromkeys(urls))


def _backoff(feed: FeedSubscription) -> timedelta:
    cap = settings.RURALCAST_CAP_FEED["BACKOFF_MAX_SECONDS"]
    return timedelta(seconds=min(cap, feed.interval_seconds * 2 ** min(feed.failures, 20)))


def _failed(feed: FeedSubscription, reason: str, now: datetime) -> PollResult:
    feed.failures += 1
    feed.last_polled_at, feed.last_error = now, reason
    feed.next_poll_at = now + _backoff(feed)
    feed.save(update_fields=["failures", "last_polled_at", "last_error", "next_poll_at"])
    return PollResult(status="failed", error=reason)


def _triplet(root: etree._Element) -> tuple[str, str, str]:
    def text(name: str) -> str:
        element = root.find(f"{{{CAP_NS}}}{name}")
        return (element.text or "").strip() if element is not None else ""

    return text("sender"), text("identifier"), text("sent")


def _sent_of(body: bytes) -> datetime:
    """The message's `sent` time, to order a poll's messages; unreadable ones sort last."""
    try:
        value = datetime.fromisoformat(_triplet(xml_parse(body))[2])
    except (ApplicationError, ValueError):
        return datetime.max.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(feed: FeedSubscription, url: str, outcome: str, **values: object) -> FeedEntry:
    return FeedEntry.objects.create(subscription=feed, url=url[:500], outcome=outcome, **values)  # type: ignore[arg-type]


def _entry(feed: FeedSubscription, url: str, body: bytes) -> FeedEntry:
    """One fetched message, decided and recorded (see the module docstring)."""
    try:
        root = xml_parse(body)
        if feed.certificate_pem:
            root = signed_root(root, certificate_pem=feed.certificate_pem)
    except (ApplicationError, SignatureRefused) as error:
        return _record(feed, url, EntryOutcome.REFUSED, reason=error.message)
    sender, identifier, sent = _triplet(root)
    ids = {"sender": sender[:255], "identifier": identifier[:255], "sent": sent[:40]}
    earlier = ImportedMessage.objects.filter(**ids).select_related("alert").first() if identifier else None
    if earlier is not None:
        return _record(feed, url, EntryOutcome.DUPLICATE, alert=earlier.alert, **ids)
    try:
        parsed = cap_parse(actor=feed.account, root=root)
        allowed = list(feed.regions.all())
        outside = [r for r in parsed.fields.targets if not any(a.contains(r) for a in allowed)]
        if outside:
            reason = _("targets %(regions)s, outside the regions this feed may target.") % {
                "regions": ", ".join(f"{r.name} ({r.code})" for r in outside)
            }
            return _record(feed, url, EntryOutcome.REFUSED, reason=reason, **ids)
        parsed.notes.append(f"from CAP feed {feed.pk} “{feed.name}”: {url[:300]}")
        with transaction.atomic():
            alert = draft_create(actor=feed.account, issuer_region=feed.issuer_region, parsed=parsed, fmt="cap")
            if not parsed.history:
                feed_draft_page_open(alert=alert, feed_name=feed.name)
            return _record(feed, url, EntryOutcome.IMPORTED, alert=alert, **ids)
    except ApplicationError as error:
        return _record(feed, url, EntryOutcome.REFUSED, reason=error.message, **ids)


def feed_poll(*, feed: FeedSubscription, now: datetime | None = None) -> PollResult:
    """Poll one feed now, whatever its `next_poll_at` (the poller and the console's "poll now")."""
    now = now or timezone.now()
    limits = settings.RURALCAST_CAP_FEED
    try:
        index = fetch(feed.url, max_bytes=limits["INDEX_MAX_BYTES"], etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as error:
        return _failed(feed, error.message, now)
    if index.status == 304:
        feed.failures, feed.last_polled_at, feed.last_success_at = 0, now, now
        feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
        feed.save(update_fields=["failures", "last_polled_at", "last_success_at", "next_poll_at"])
        return PollResult(status="not-modified")
    urls = index_urls(index.body, base=feed.url)
    if urls is None:
        return _failed(feed, _("the index is neither Atom, RSS nor a list of URLs."), now)
    seen = set(feed.entries.filter(url__in=urls).values_list("url", flat=True))
    new = [u for u in urls if u[:500] not in seen]
    entries: list[FeedEntry] = []
    fetched: list[tuple[str, bytes]] = []
    for url in new[: limits["ENTRIES_PER_POLL"]]:
        try:
            fetched.append((url, fetch(url, max_bytes=limits["MESSAGE_MAX_BYTES"]).body))
        except FetchError as error:
            if not error.permanent:
                # Unreachable now: not recorded, so the next poll tries it again; the feed backs off.
                return _failed(feed, error.message, now)
            entries.append(_record(feed, url, EntryOutcome.REFUSED, reason=error.message))
    # Oldest first (feeds list the newest first): an Update or Cancel finds what it refers to.
    for url, body in sorted(fetched, key=lambda item: _sent_of(item[1])):
        entries.append(_entry(feed, url, body))
    refused = [e for e in entries if e.outcome == EntryOutcome.REFUSED]
    feed.failures, feed.last_polled_at, feed.last_success_at = 0, now, now
    # More new entries than one poll takes: no validators kept, so the next poll reads the rest.
    complete = len(new) <= limits["ENTRIES_PER_POLL"]
    feed.etag, feed.last_modified = (index.etag, index.last_modified) if complete else ("", "")
    feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
    feed.last_error = "; ".join(f"{e.url}: {e.reason}" for e in refused)[:2000]
    feed.save()
    return PollResult(status="polled", entries=entries)


def feeds_poll_due(*, now: datetime | None = None) -> list[PollResult]:
    """Poll every enabled feed that is due, one after the other. A feed whose poll breaks on
    something unforeseen backs off with that as its error; the others are still polled."""
    now = now or timezone.now()
    due = FeedSubscription.objects.filter(enabled=True, next_poll_at__lte=now).select_related(
        "account", "issuer_region"
    )
    results = []
    for feed in due:
        try:
            results.append(feed_poll(feed=feed, now=now))
        except Exception as error:  # one broken feed must not stop the others
            log.exception("CAP feed %s: poll failed", feed.pk)
            feed.refresh_from_db()
            results.append(_failed(feed, _("internal error while polling: %(error)s") % {"error": error}, now))
    return results
