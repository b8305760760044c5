"""Reads of emergency messages: scoped lists, the live status of a broadcast, proof rows."""

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from ruralcast_terminal.protocol import Rejected, envelope_decode, message_split

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts.models import (
    Alert,
    AlertContributor,
    ImportedMessage,
    MsgType,
    Receipt,
    ReceiptEvent,
    State,
    TargetedTerminal,
)
from ruralcast.alerts.services import OUTBOX_DISPATCH
from ruralcast.core.errors import NotFound
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.codes import PREFIX_LENGTH, Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.selectors import commissioned_by, terminals_in_regions


def alert_list(*, user: User, query: str = "", state: str = "") -> QuerySet[Alert]:
    """Messages issued by platforms in the regions where the user holds `alert.view`."""
    scope = action_scope_q(user=user, action=Action.ALERT_VIEW, field="issuer_region_id")
    if scope is None:
        return Alert.objects.none()
    alerts = (
        Alert.objects.filter(scope)
        .select_related("issuer_region", "created_by", "references", "imported")
        .prefetch_related("targets", "translations")  # the API lists each message's targets and languages
    )
    if query:
        alerts = alerts.filter(Q(title__icontains=query) | Q(ebm_id__startswith=query))
    if state:
        alerts = alerts.filter(state=state)
    return alerts.order_by("-created_at")


def access_alert(*, user: User, ebm_id: str) -> Alert:
    """An alert the user may see, or NotFound."""
    alert = alert_list(user=user).filter(ebm_id=ebm_id).first()
    if alert is None:
        raise NotFound(_("No message %(id)s in your regions.") % {"id": ebm_id})
    return alert


def alert_import_record(*, alert: Alert) -> ImportedMessage | None:
    """Where an imported message came from and what it still needs (None: not imported)."""
    return ImportedMessage.objects.filter(alert=alert).first()


def alert_targets(*, alert: Alert) -> list[Region]:
    return list(alert.targets.order_by("code"))


def alert_reach(*, alert: Alert) -> dict[str, int]:
    """How many villages and terminals the message reaches (shown before approval; once dispatched,
    the terminals it was published to)."""
    targets = alert_targets(alert=alert)
    villages = 0
    for region in targets:
        villages += Region.objects.filter(subtree_q(region.prefix), level=Level.VILLAGE).count()
    return {"regions": len(targets), "villages": villages, "terminals": _targeted(alert).rows.count()}


# The reason an agent gives when an Update replaced what it was playing (protocols.md §5): stopped,
# but not because of a Cancel.
SUPERSEDED = "superseded"


@dataclass
class RegionTally:
    """Terminals of one region and what they reported. Counts overlap (a terminal that played also
    received), except the outcomes: finished, cancelled (stopped by a Cancel, never counted as
    finished), superseded (stopped because an Update replaced it), rejected, failed, silent."""

    region: Region
    targeted: int = 0
    received: int = 0
    played: int = 0
    finished: int = 0
    cancelled: int = 0
    superseded: int = 0
    rejected: int = 0
    failed: int = 0
    silent: int = 0


@dataclass
class BroadcastStatus:
    totals: RegionTally
    by_region: list[RegionTally] = field(default_factory=list)
    rejection_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Targets:
    """The terminals of a message: rows with `terminal_code`, `village_id` and `village`, and the
    name of the column holding the terminal's code (what receipt subqueries correlate on)."""

    rows: QuerySet[Any]
    code: str

    def receipt(self, alert: Alert, event: str | None = None) -> Exists:
        receipts = Receipt.objects.filter(alert=alert, terminal_code=OuterRef(self.code))
        return Exists(receipts.filter(event=event) if event else receipts)

    def cancelled(self, alert: Alert, *, by_update: bool) -> Exists:
        receipts = Receipt.objects.filter(alert=alert, terminal_code=OuterRef(self.code), event=ReceiptEvent.CANCELLED)
        return Exists(receipts.filter(reason=SUPERSEDED) if by_update else receipts.exclude(reason=SUPERSEDED))


def _targeted(alert: Alert) -> _Targets:
    """The terminals of the message.

    Once dispatched, the record made at dispatch (`TargetedTerminal`), for ever. Before (a draft,
    a message awaiting approval) and for messages dispatched before the record existed: the
    registry's active terminals in the targets now.
    """
    if alert.terminals_recorded_at is not None:
        return _Targets(TargetedTerminal.objects.filter(alert=alert), "terminal_code")
    live = terminals_in_regions(regions=alert_targets(alert=alert)).annotate(terminal_code=F("code"))
    # Subqueries correlate on the real column: Django resolves an OuterRef to an annotation
    # inside aggregate() as a bare name, which the subquery would read as its own column.
    return _Targets(live, "code")


def _tally_expressions(alert: Alert, targets: _Targets) -> dict[str, Count]:
    """One COUNT per column, each over the terminals with (or without) a receipt: the database
    does the work, in one statement however many terminals there are."""
    finished = Q(targets.receipt(alert, ReceiptEvent.FINISHED))
    by_cancel = Q(targets.cancelled(alert, by_update=False))
    by_update = Q(targets.cancelled(alert, by_update=True))
    return {
        "targeted": Count("pk"),
        "received": Count("pk", filter=Q(targets.receipt(alert, ReceiptEvent.RECEIVED))),
        "played": Count("pk", filter=Q(targets.receipt(alert, ReceiptEvent.STARTED))),
        "finished": Count("pk", filter=finished),
        "cancelled": Count("pk", filter=by_cancel & ~finished),
        "superseded": Count("pk", filter=by_update & ~finished & ~by_cancel),
        "rejected": Count("pk", filter=Q(targets.receipt(alert, ReceiptEvent.REJECTED))),
        "failed": Count("pk", filter=Q(targets.receipt(alert, ReceiptEvent.FAILED))),
        "silent": Count("pk", filter=~Q(targets.receipt(alert))),
    }


def broadcast_status(*, alert: Alert, breakdown: Region | None = None) -> BroadcastStatus:
    """Counts of targeted / received / played / finished / cancelled / rejected / silent terminals.

    `breakdown` picks the region the counts are for and the level shown per row: its children
    (default: the issuing region, or the single target when there is one), so the page can drill
    down the tree. The totals are those of `breakdown`'s subtree only, under its name. A constant
    number of queries, whatever the number of terminals.
    """
    targets = alert_targets(alert=alert)
    if breakdown is None:
        breakdown = targets[0] if len(targets) == 1 else alert.issuer_region
    targeted = _targeted(alert)
    terminals = targeted.rows.filter(subtree_q(breakdown.prefix, "village_id")).order_by()
    counts = _tally_expressions(alert, targeted)
    totals = RegionTally(region=breakdown, **terminals.aggregate(**counts))
    rows: list[RegionTally] = []
    if breakdown.level < Level.VILLAGE:
        child_length = PREFIX_LENGTH[breakdown.level + 1]
        children = {r.code[:child_length]: r for r in Region.objects.filter(parent=breakdown)}
        grouped = terminals.annotate(child=Substr("village_id", 1, child_length)).values("child").annotate(**counts)
        for row in grouped:
            child = children.get(row.pop("child"))
            if child is not None:
                rows.append(RegionTally(region=child, **row))
    reasons = dict(
        Receipt.objects.filter(alert=alert, event=ReceiptEvent.REJECTED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return BroadcastStatus(
        totals=totals, by_region=sorted(rows, key=lambda t: t.region.code), rejection_reasons=reasons
    )


@dataclass(frozen=True)
class SilentTerminal:
    code: str
    village: Region


def silent_terminals(*, alert: Alert, limit: int | None = 200) -> list[SilentTerminal]:
    """Targeted terminals that have sent no receipt at all for this message, by code."""
    targeted = _targeted(alert)
    silent = targeted.rows.filter(~Q(targeted.receipt(alert))).select_related("village").order_by(targeted.code)
    rows = silent[:limit] if limit else silent
    return [SilentTerminal(code=row.terminal_code, village=row.village) for row in rows]


def demo_terminals_kept_offline(*, alert: Alert) -> int:
    """How many of the message's silent terminals never connected at all, in a demo deployment.

    The demo (`make run`) starts its simulated loudspeakers with a share of them kept offline on
    purpose (`demo_simulator --absent`), so that the silent list and the offline map have something
    to show; the live page says so rather than let a visitor think the platform lost them. 0 outside
    a demo deployment (one without the demo simulator's files in RUN_DIR).
    """
    from ruralcast.terminals.demo import simulator_files
    from ruralcast.terminals.models import TerminalState

    if not simulator_files().passwords.exists():
        return 0
    connected = TerminalState.objects.filter(last_seen_at__isnull=False).values("terminal_id")
    targeted = _targeted(alert)
    never = targeted.rows.filter(~Q(targeted.receipt(alert))).exclude(**{f"{targeted.code}__in": connected})
    return never.count()


@dataclass
class ProofRow:
    """One targeted terminal in the proof of broadcast. Times are aware datetimes (None: no such
    receipt); each document formats them in its own time zone (`alerts.times`)."""

    terminal: str
    village_code: str
    village: str
    received: datetime | None
    started: datetime | None
    finished: datetime | None
    cancelled: datetime | None
    outcome: str
    reason: str


def _outcome(got: dict[str, Receipt]) -> str:
    if ReceiptEvent.REJECTED in got:
        return "rejected"
    if ReceiptEvent.FINISHED in got:
        return "played"
    if ReceiptEvent.CANCELLED in got:
        return "superseded" if got[ReceiptEvent.CANCELLED].reason == SUPERSEDED else "cancelled"
    if ReceiptEvent.FAILED in got:
        return "failed"
    if ReceiptEvent.STARTED in got:
        return "playing"
    if ReceiptEvent.RECEIVED in got:
        return "received"
    return "silent"


def proof_rows(*, alert: Alert) -> list[ProofRow]:
    """One row per targeted terminal: what it reported and when (proof of broadcast). Two queries."""
    receipts: dict[str, dict[str, Receipt]] = {}
    for receipt in Receipt.objects.filter(alert=alert):
        receipts.setdefault(receipt.terminal_code, {})[receipt.event] = receipt
    rows = []
    targeted = _targeted(alert)
    for terminal in targeted.rows.select_related("village").order_by(targeted.code):
        got = receipts.get(terminal.terminal_code, {})

        def when(event: str, got: dict[str, Receipt] = got) -> datetime | None:
            receipt = got.get(event)
            return (receipt.device_at or receipt.stored_at) if receipt else None

        rows.append(
            ProofRow(
                terminal=terminal.terminal_code,
                village_code=terminal.village_id,
                village=terminal.village.name,
                received=when(ReceiptEvent.RECEIVED),
                started=when(ReceiptEvent.STARTED),
                finished=when(ReceiptEvent.FINISHED),
                cancelled=when(ReceiptEvent.CANCELLED),
                outcome=_outcome(got),
                reason=(got.get(ReceiptEvent.REJECTED) or got.get(ReceiptEvent.FAILED) or Receipt()).reason,
            )
        )
    return rows


def reach_counts(*, alerts: list[Alert], prefix: str) -> tuple[int, int]:
    """(targeted, received) terminals of the subtree `prefix` over `alerts`, for reporting's figures:
    from each message's record made at dispatch, so a terminal registered later changes nothing;
    a targeted terminal not commissioned when the message was sent counts only if it received it."""
    targeted = received = 0
    for alert in alerts:
        targets = _targeted(alert)
        rows = targets.rows
        if alert.terminals_recorded_at is None and alert.sent_at is not None:
            rows = rows.filter(created_at__lte=alert.sent_at)  # no record: those registered by then
        if alert.sent_at is not None:  # a terminal never connected by then (not commissioned) counts
            # only if it answered anyway: coverage is not dragged down by devices not yet put up
            rows = rows.filter(
                Q(targets.receipt(alert, ReceiptEvent.RECEIVED))
                | Q(commissioned_by(alert.sent_at, code_field=targets.code))
            )
        counts = (
            rows.filter(subtree_q(prefix, "village_id"))
            .order_by()
            .aggregate(
                targeted=Count("pk"), received=Count("pk", filter=Q(targets.receipt(alert, ReceiptEvent.RECEIVED)))
            )
        )
        targeted += counts["targeted"]
        received += counts["received"]
    return targeted, received


def signing_serial(*, alert: Alert) -> str:
    """The serial of the key that signed the dispatched alert ("" before dispatch), from its envelope."""
    outbox = OutboxMessage.objects.filter(kind=OUTBOX_DISPATCH, key=alert.ebm_id).first()
    for item in outbox.messages if outbox is not None else []:
        try:
            return envelope_decode(message_split(base64.b64decode(item.get("payload_b64") or ""))[0]).serial
        except (Rejected, ValueError):
            continue  # an empty (clearing) message, or not an envelope
    return ""


@dataclass
class ChainView:
    """A chain as the detail page of any of its messages shows it."""

    messages: list[Alert]  # oldest first
    in_force: Alert | None  # the latest dispatched Alert/Update that has not ended
    waiting: Alert | None  # approved, not yet published (a Cancel withdraws it)
    cancel: Alert | None  # the Cancel under way, if any

    @property
    def latest(self) -> Alert | None:
        """The message the chain's Cancel and Update act on (on air, or about to be)."""
        return self.waiting or self.in_force


def chain_view(*, alert: Alert) -> ChainView:
    original = alert.original
    messages = [original, *Alert.objects.filter(references=original).order_by("pk")]
    now = timezone.now()
    spoken = [m for m in messages if m.msg_type != MsgType.CANCEL]
    in_force = [m for m in spoken if m.state == State.DISPATCHED and m.expires > now]
    waiting = [m for m in spoken if m.state == State.APPROVED]
    cancels = [
        m
        for m in messages
        if m.msg_type == MsgType.CANCEL and m.state in (State.DRAFT, State.SUBMITTED, State.APPROVED, State.DISPATCHED)
    ]
    return ChainView(
        messages=messages,
        in_force=max(in_force, key=lambda m: (m.dispatched_at or now, m.pk)) if in_force else None,
        waiting=waiting[-1] if waiting else None,
        cancel=cancels[-1] if cancels else None,
    )


# Grants of roles that draft or approve alerts more recent than this are shown on the approval screen.
RECENT_GRANTS = timedelta(hours=24)


@dataclass(frozen=True)
class RecentGrant:
    username: str
    role: str  # the role's code (translated on display)
    region_name: str
    granted_by: str
    granted_at: datetime
    of_approver: bool  # granted to the person looking at the approval screen

    @property
    def role_label(self) -> str:
        from ruralcast.accounts.roles import Role

        return str(Role(self.role).label) if self.role in Role.values else self.role


def recent_alert_role_grants(*, alert: Alert, approver: User) -> list[RecentGrant]:
    """Alert roles granted in the last 24 hours to the approver or to anyone who authored a version.

    Read from the audit trail (`audit.selectors.role_grants_recent`): a bureau administrator who
    gives someone the approver role, or creates a second account that drafts, shows up here on the
    very screen where the second person approves. One query per person (the approver and the few
    authors of the message).
    """
    from ruralcast.accounts.models import User as UserModel
    from ruralcast.accounts.roles import ROLE_ACTIONS
    from ruralcast.audit.selectors import role_grants_recent

    roles = [
        role
        for role, actions in ROLE_ACTIONS.items()
        if Action.ALERT_DRAFT in actions or Action.ALERT_APPROVE in actions
    ]
    authors = UserModel.objects.filter(pk__in=AlertContributor.objects.filter(alert=alert).values("user_id"))
    people = {approver.pk: approver, **{user.pk: user for user in authors}}
    since = timezone.now() - RECENT_GRANTS
    records = [
        (person, record)
        for person in people.values()
        for record in role_grants_recent(user=person, roles=roles, since=since)
    ]
    region_names = dict(
        Region.objects.filter(code__in={record.region_code for _person, record in records}).values_list("code", "name")
    )
    return sorted(
        (
            RecentGrant(
                username=record.grantee,
                role=record.role,
                region_name=region_names.get(record.region_code, ""),
                granted_by=record.granted_by,
                granted_at=record.granted_at,
                of_approver=person.pk == approver.pk,
            )
            for person, record in records
        ),
        key=lambda grant: grant.granted_at,
        reverse=True,
    )


def terminal_receipts(*, terminal: Terminal) -> QuerySet[Receipt]:
    """What one terminal reported of the alerts it was sent (received, played, failed…), newest
    first: the "alerts played" of its history. The caller has accessed the terminal."""
    return Receipt.objects.filter(terminal_code=terminal.code).select_related("alert").order_by("-stored_at", "-id")
