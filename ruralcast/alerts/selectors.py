"""Reads of emergency messages: scoped lists, the live status of a broadcast, proof rows."""

import base64
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from ruralcast_terminal.protocol import Rejected, envelope_decode, message_split

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts.models import Alert, MsgType, Receipt, ReceiptEvent
from ruralcast.alerts.services import OUTBOX_DISPATCH
from ruralcast.core.errors import NotFound
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.codes import PREFIX_LENGTH, Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.selectors import terminals_in_regions


def alert_list(*, user: User, query: str = "", state: str = "") -> QuerySet[Alert]:
    """Messages issued by platforms in the regions where the user holds `alert.view`."""
    scope = action_scope_q(user=user, action=Action.ALERT_VIEW, field="issuer_region_id")
    if scope is None:
        return Alert.objects.none()
    alerts = (
        Alert.objects.filter(scope)
        .select_related("issuer_region", "created_by", "references")
        .prefetch_related("targets")  # the API lists each message's target codes
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


def alert_targets(*, alert: Alert) -> list[Region]:
    return list(alert.targets.order_by("code"))


def alert_reach(*, alert: Alert) -> dict[str, int]:
    """How many villages and terminals the message reaches (shown before approval)."""
    targets = alert_targets(alert=alert)
    villages = 0
    for region in targets:
        villages += Region.objects.filter(subtree_q(region.prefix), level=Level.VILLAGE).count()
    return {"regions": len(targets), "villages": villages, "terminals": terminals_in_regions(regions=targets).count()}


@dataclass
class RegionTally:
    region: Region
    targeted: int = 0
    received: int = 0
    played: int = 0
    finished: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def silent(self) -> int:
        return max(self.targeted - self.received - self.rejected, 0)


@dataclass
class BroadcastStatus:
    totals: RegionTally
    by_region: list[RegionTally] = field(default_factory=list)
    rejection_reasons: dict[str, int] = field(default_factory=dict)


def _status_by_terminal(alert: Alert) -> dict[str, set[str]]:
    events: dict[str, set[str]] = {}
    for code, event in Receipt.objects.filter(alert=alert).values_list("terminal_code", "event"):
        events.setdefault(code, set()).add(event)
    return events


def _tally(tally: RegionTally, events: set[str]) -> None:
    tally.targeted += 1
    if ReceiptEvent.RECEIVED in events:
        tally.received += 1
    if ReceiptEvent.REJECTED in events:
        tally.rejected += 1
    if ReceiptEvent.STARTED in events:
        tally.played += 1
    if ReceiptEvent.FINISHED in events or ReceiptEvent.CANCELLED in events:
        tally.finished += 1
    if ReceiptEvent.FAILED in events:
        tally.failed += 1


def broadcast_status(*, alert: Alert, breakdown: Region | None = None) -> BroadcastStatus:
    """Counts of targeted / received / played / finished / rejected / silent terminals.

    `breakdown` picks the level shown per row: the children of that region (default: the issuing
    region, or the single target when there is one), so the page can drill down the tree.
    """
    targets = alert_targets(alert=alert)
    terminals = list(terminals_in_regions(regions=targets).values_list("code", "village_id"))
    events = _status_by_terminal(alert)
    if breakdown is None:
        breakdown = targets[0] if len(targets) == 1 else alert.issuer_region
    child_length = PREFIX_LENGTH[min(breakdown.level + 1, Level.VILLAGE)]
    children = {r.code[:child_length]: r for r in Region.objects.filter(parent=breakdown)}
    totals = RegionTally(region=breakdown)
    rows: dict[str, RegionTally] = {}
    for code, village_code in terminals:
        terminal_events = events.get(code, set())
        _tally(totals, terminal_events)
        child = children.get(village_code[:child_length])
        if child is not None and village_code.startswith(breakdown.prefix):
            _tally(rows.setdefault(child.code, RegionTally(region=child)), terminal_events)
    reasons = dict(
        Receipt.objects.filter(alert=alert, event=ReceiptEvent.REJECTED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return BroadcastStatus(
        totals=totals, by_region=sorted(rows.values(), key=lambda t: t.region.code), rejection_reasons=reasons
    )


def silent_terminals(*, alert: Alert, limit: int | None = 200) -> list[Terminal]:
    """Targeted terminals that have sent no receipt at all for this message."""
    heard = set(Receipt.objects.filter(alert=alert).values_list("terminal_code", flat=True).distinct())
    silent = [
        t
        for t in terminals_in_regions(regions=alert_targets(alert=alert)).select_related("village")
        if t.code not in heard
    ]
    return silent[:limit] if limit else silent


@dataclass
class ProofRow:
    terminal: str
    village_code: str
    village: str
    received: str
    started: str
    finished: str
    outcome: str
    reason: str


def proof_rows(*, alert: Alert) -> list[ProofRow]:
    """One row per targeted terminal: what it reported and when (proof of broadcast)."""
    receipts: dict[str, dict[str, Receipt]] = {}
    for receipt in Receipt.objects.filter(alert=alert):
        receipts.setdefault(receipt.terminal_code, {})[receipt.event] = receipt
    rows = []
    for terminal in terminals_in_regions(regions=alert_targets(alert=alert)).select_related("village"):
        got = receipts.get(terminal.code, {})

        def when(event: str, got: dict[str, Receipt] = got) -> str:
            receipt = got.get(event)
            moment = receipt.device_at or receipt.stored_at if receipt else None
            return moment.isoformat(timespec="seconds") if moment else ""

        if ReceiptEvent.REJECTED in got:
            outcome = "rejected"
        elif ReceiptEvent.FINISHED in got:
            outcome = "played"
        elif ReceiptEvent.CANCELLED in got:
            outcome = "cancelled"
        elif ReceiptEvent.FAILED in got:
            outcome = "failed"
        elif ReceiptEvent.STARTED in got:
            outcome = "playing"
        elif ReceiptEvent.RECEIVED in got:
            outcome = "received"
        else:
            outcome = "silent"
        rows.append(
            ProofRow(
                terminal=terminal.code,
                village_code=terminal.village_id,
                village=terminal.village.name,
                received=when(ReceiptEvent.RECEIVED),
                started=when(ReceiptEvent.STARTED),
                finished=when(ReceiptEvent.FINISHED),
                outcome=outcome,
                reason=(got.get(ReceiptEvent.REJECTED) or got.get(ReceiptEvent.FAILED) or Receipt()).reason,
            )
        )
    return rows


def alert_chain(*, alert: Alert) -> list[Alert]:
    """The original and every update or cancel of it, oldest first."""
    original = alert.original
    return [original, *Alert.objects.filter(references=original).order_by("created_at")]


def pending_cancel(*, alert: Alert) -> Alert | None:
    return Alert.objects.filter(references=alert.original, msg_type=MsgType.CANCEL).order_by("-created_at").first()


def signing_serial(*, alert: Alert) -> str:
    """The serial of the key that signed the dispatched alert ("" before dispatch), from its envelope."""
    outbox = OutboxMessage.objects.filter(kind=OUTBOX_DISPATCH, key=alert.ebm_id).first()
    for item in outbox.messages if outbox is not None else []:
        try:
            return envelope_decode(message_split(base64.b64decode(item.get("payload_b64") or ""))[0]).serial
        except (Rejected, ValueError):
            continue  # an empty (clearing) message, or not an envelope
    return ""
