"""Reading the audit trail: scoped listing and chain verification."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from ruralcast.accounts.access import action_scope_q, granted_prefixes, prefixes_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.chain import HASHED_FIELDS, canonical_event, chain_hash
from ruralcast.audit.models import GENESIS_HASH, AuditEvent


@dataclass
class AuditFilter:
    verb: str = ""
    actor: str = ""
    region_prefix: str = ""
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_event_list(*, user: User, filters: AuditFilter | None = None) -> QuerySet[AuditEvent]:
    """Events the user may read: those in regions where they hold `audit.view`.

    Events without a region (system-wide changes) are visible to holders of `audit.view` on the
    national root only.
    """
    scope = action_scope_q(user=user, action=Action.AUDIT_VIEW, field="region_code")
    if scope is None:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if scope != Q():
        events = events.filter(scope)
    filters = filters or AuditFilter()
    if filters.verb:
        events = events.filter(verb__startswith=filters.verb)
    if filters.actor:
        events = events.filter(actor_label__icontains=filters.actor)
    if filters.region_prefix:
        events = events.filter(region_code__startswith=filters.region_prefix)
    if filters.text:
        events = events.filter(Q(object_label__icontains=filters.text) | Q(object_id=filters.text))
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    return events.order_by("-seq")


def audit_recent_in_own_regions(*, user: User, limit: int = 10) -> list[AuditEvent]:
    """The latest operations a person should see on their dashboard.

    Holders of `audit.view` see their audit scope (as the audit log does). Everyone else sees what
    was done in the regions where they hold a role (an operator sees their county's drills and
    commands), without the system-wide events that only the national audit scope reads.
    """
    if action_scope_q(user=user, action=Action.AUDIT_VIEW, field="region_code") is not None:
        return list(audit_event_list(user=user)[:limit])
    prefixes = granted_prefixes(user=user)
    if not prefixes:
        return []
    own = AuditEvent.objects.filter(prefixes_q(prefixes, "region_code")).exclude(region_code="")
    return list(own.order_by("-seq")[:limit])


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Recompute every hash in order; report gaps, broken links and altered events."""
    report = ChainReport()
    expected_prev, expected_seq = GENESIS_HASH, 1
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        report.checked += 1
        if event.seq != expected_seq:
            report.problems.append(f"#{event.seq}: expected sequence {expected_seq} (gap or deletion)")
        if event.prev_hash != expected_prev:
            report.problems.append(f"#{event.seq}: previous-hash link broken")
        recomputed = chain_hash(
            event.prev_hash, canonical_event(**{name: getattr(event, name) for name in HASHED_FIELDS})
        )
        if recomputed != event.hash:
            report.problems.append(f"#{event.seq}: content does not match its hash (altered)")
        expected_prev, expected_seq = event.hash, event.seq + 1
    return report


@dataclass(frozen=True)
class RoleGrantRecord:
    """One grant of a role as the audit trail recorded it: what, where, to whom, by whom, when."""

    role: str
    region_code: str
    grantee: str
    granted_by: str
    granted_at: datetime


def role_grants_recent(*, user: User, roles: Iterable[str], since: datetime) -> list[RoleGrantRecord]:
    """Grants of any of `roles` made to `user` at or after `since`, newest first, from the audit trail.

    For the alert approval screen ("approver role granted 3 minutes ago by X"): a role handed out
    just before an approval is a warning sign of the two-person rule being met by one person. It
    reads the hash-chained audit trail, not `RoleGrant`, so a grant revoked again since still shows.
    Not scoped by a viewer: the caller shows it only beside an object the viewer may already see.
    """
    wanted = sorted(set(roles))
    if not wanted:
        return []
    events = (
        AuditEvent.objects.filter(verb="role.grant", created_at__gte=since, after__role__in=wanted)
        .filter(Q(after__user_id=user.pk) | Q(after__user=user.username))
        .order_by("-seq")
    )
    return [
        RoleGrantRecord(
            role=event.after["role"],
            region_code=event.after.get("region", event.region_code),
            grantee=event.after["user"],
            granted_by=event.after.get("granted_by") or event.actor_label,
            granted_at=event.created_at,
        )
        for event in events
        if event.after is not None
    ]
