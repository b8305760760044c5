"""The rules that open work orders, and recovery that closes them (run by `manage.py fleet_watch`).

`work_orders_sync(now)` compares what is wrong now with the open automatic orders:

- **offline**: offline (will or silence) for longer than `OFFLINE_MINUTES` (a terminal that never
  reported is not installed yet and opens nothing);
- **amplifier**, **speaker**, **playback**: the faults its status reports show (3 consecutive
  failed playbacks make `playback`);
- **silent during an alert**: a live or drill alert dispatched at least `SILENT_ALERT_MINUTES`
  ago, not expired, reached the terminal's region, and the terminal sent no receipt at all (a
  terminal that never connected is not commissioned, `terminals.selectors.commissioned_q`, and
  opens nothing: it was imported and waits to be put up).

A fault without an open order gets one (unless a person resolved it by hand and no report since
has shown it again: `_held_closed`), assigned to the maintainer of the terminal's region, due
after the fault's SLA; an automatic order whose fault is gone is resolved as *recovered* (a silent
terminal recovers when it answers the alert, or when the alert is over and the terminal is online).
Overdue orders escalate: one level per SLA period missed, reassigned to the maintainer one level up.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ruralcast.accounts.models import RoleGrant
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Alert, MsgType, Receipt, State
from ruralcast.audit.services import audit_record
from ruralcast.maintenance.models import FaultKind, OrderState, WorkOrder
from ruralcast.maintenance.notices import work_order_assigned_notify
from ruralcast.regions.codes import prefix_of
from ruralcast.terminals.models import Terminal, TerminalState
from ruralcast.terminals.selectors import commissioned_q, terminals_in_regions


def _config() -> dict[str, object]:
    return settings.RURALCAST_FLEET


def sla(fault: str) -> timedelta:
    hours = _config()["SLA_HOURS"]
    assert isinstance(hours, dict)
    return timedelta(hours=float(hours.get(fault, 24)))


@dataclass
class Maintainers:
    """Who maintains where: maintainer grants by subtree prefix, most specific first."""

    grants: list[tuple[str, int]] = field(default_factory=list)  # (prefix, user id)

    @classmethod
    def load(cls) -> "Maintainers":
        rows = RoleGrant.objects.filter(role=Role.MAINTAINER, user__is_active=True).values_list(
            "region__code", "region__level", "user_id"
        )
        grants = sorted(
            ((prefix_of(code, level), user) for code, level, user in rows), key=lambda g: (-len(g[0]), g[1])
        )
        return cls(grants=grants)

    def for_village(self, village_code: str, *, above: int | None = None) -> int | None:
        """The user id of the most specific maintainer over the village (with `above`: strictly
        above that prefix length, for escalation)."""
        for prefix, user in self.grants:
            if village_code.startswith(prefix) and (above is None or len(prefix) < above):
                return user
        return None

    def prefix_of_user(self, village_code: str, user: int | None) -> int:
        for prefix, holder in self.grants:
            if holder == user and village_code.startswith(prefix):
                return len(prefix)
        return 13


def _assignee(terminal: Terminal, maintainers: Maintainers) -> int | None:
    if terminal.maintainer_id is not None and any(
        holder == terminal.maintainer_id and terminal.village_id.startswith(prefix)
        for prefix, holder in maintainers.grants
    ):
        return terminal.maintainer_id
    return maintainers.for_village(terminal.village_id)


def current_faults(*, now: datetime) -> dict[tuple[str, str], str]:
    """(terminal code, fault) → detail, for every fault the rules see now."""
    config = _config()
    found: dict[tuple[str, str], str] = {}
    offline_before = now - timedelta(minutes=int(config["OFFLINE_MINUTES"]))  # type: ignore[call-overload]
    for code in TerminalState.objects.filter(online=False, since__lt=offline_before).values_list(
        "terminal_id", flat=True
    ):
        found[(str(code), FaultKind.OFFLINE)] = ""
    for code, faults in TerminalState.objects.exclude(faults="").values_list("terminal_id", "faults"):
        for fault in faults.split(","):
            if fault in FaultKind.values:
                found[(str(code), fault)] = ""
    found.update(_silent_in_alerts(now=now, minutes=int(config["SILENT_ALERT_MINUTES"])))  # type: ignore[call-overload]
    return found


def _silent_in_alerts(*, now: datetime, minutes: int) -> dict[tuple[str, str], str]:
    silent: dict[tuple[str, str], str] = {}
    alerts = Alert.objects.filter(
        state=State.DISPATCHED,
        msg_type__in=[MsgType.ALERT, MsgType.UPDATE],
        sent_at__lte=now - timedelta(minutes=minutes),
        expires__gt=now,
    ).prefetch_related("targets")
    for alert in alerts:
        heard = set(Receipt.objects.filter(alert=alert).values_list("terminal_code", flat=True))
        targeted = terminals_in_regions(regions=list(alert.targets.all())).filter(
            commissioned_q(), created_at__lte=alert.sent_at
        )
        for code in targeted.values_list("code", flat=True):
            if code not in heard:
                silent[(code, FaultKind.SILENT)] = alert.ebm_id
    return silent


@dataclass
class SyncReport:
    opened: int = 0
    resolved: int = 0
    escalated: int = 0


def work_orders_sync(*, now: datetime | None = None) -> SyncReport:
    """Open, resolve and escalate automatic work orders; returns what changed."""
    now = now or timezone.now()
    report = SyncReport()
    faults = current_faults(now=now)
    open_orders = {
        (o.terminal.code, o.fault): o
        for o in WorkOrder.objects.filter(resolved_at__isnull=True).select_related("terminal")
    }
    codes = {code for code, _fault in faults}
    terminals = {t.code: t for t in Terminal.objects.filter(code__in=codes, revoked_at__isnull=True)}
    held = _held_closed({key: detail for key, detail in faults.items() if key not in open_orders})
    maintainers = Maintainers.load()
    with transaction.atomic():
        for (code, fault), order in open_orders.items():
            if order.auto and (code, fault) not in faults:
                revoked = order.terminal.revoked_at is not None
                _resolve(order, now=now, resolution="revoked" if revoked else "recovered")
                report.resolved += 1
        for (code, fault), detail in faults.items():
            terminal = terminals.get(code)
            if terminal is None or (code, fault) in open_orders or (code, fault) in held:
                continue
            order = WorkOrder.objects.create(
                terminal=terminal,
                village_code=terminal.village_id,
                fault=fault,
                detail=detail,
                opened_at=now,
                assignee_id=_assignee(terminal, maintainers),
                due_at=now + sla(fault),
            )
            audit_record(
                actor=None,
                verb="work_order.open",
                obj=order,
                region_code=order.village_code,
                after={"terminal": code, "fault": fault, "detail": detail, "assignee": order.assignee_id},
            )
            work_order_assigned_notify(order=order)
            report.opened += 1
        report.escalated = _escalate(now=now, maintainers=maintainers)
    return report


# What rules write as a resolution; anything else was written by the person who resolved the order.
RULE_RESOLUTIONS = ("recovered", "revoked")


def _held_closed(candidates: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    """The faults a person resolved by hand that no report since has shown again.

    The terminal's stored state still carries the fault it last reported, so without this the next
    round (every 30 s) would reopen an order the maintainer has just closed after the repair. A
    hand-resolved order stays closed until evidence newer than the resolution: a status report
    received after it (amplifier, speaker, playback), the terminal going offline again after it
    (offline), or another alert (silent during an alert, whose detail is the alert's id).
    """
    if not candidates:
        return set()
    codes = {code for code, _fault in candidates}
    resolved: dict[tuple[str, str], tuple[datetime, str]] = {}
    for code, fault, detail, at in (
        WorkOrder.objects.filter(terminal__code__in=codes, resolved_at__isnull=False)
        .exclude(resolution__in=RULE_RESOLUTIONS)
        .order_by("resolved_at")
        .values_list("terminal__code", "fault", "detail", "resolved_at")
    ):
        if (code, fault) in candidates and at is not None:
            resolved[(code, fault)] = (at, detail)  # the latest wins (ordered by resolved_at)
    if not resolved:
        return set()
    seen: dict[str, tuple[datetime | None, datetime | None]] = {
        str(code): (last_seen, since)
        for code, last_seen, since in TerminalState.objects.filter(
            terminal_id__in={code for code, _fault in resolved}
        ).values_list("terminal_id", "last_seen_at", "since")
    }
    held = set()
    for (code, fault), (at, detail) in resolved.items():
        last_seen, since = seen.get(code, (None, None))
        if fault == FaultKind.SILENT:
            evidence_is_new = candidates[(code, fault)] != detail
        elif fault == FaultKind.OFFLINE:
            evidence_is_new = since is not None and since > at
        else:
            evidence_is_new = last_seen is not None and last_seen > at
        if not evidence_is_new:
            held.add((code, fault))
    return held


def _resolve(order: WorkOrder, *, now: datetime, resolution: str) -> None:
    order.state, order.resolved_at, order.resolution = OrderState.RESOLVED, now, resolution
    order.save(update_fields=["state", "resolved_at", "resolution"])
    audit_record(
        actor=None,
        verb="work_order.resolve",
        obj=order,
        region_code=order.village_code,
        after={"resolution": resolution},
    )


def _escalate(*, now: datetime, maintainers: Maintainers) -> int:
    """One level per SLA period overdue; each level goes to the maintainer one level up."""
    count = 0
    for order in WorkOrder.objects.filter(resolved_at__isnull=True, due_at__lt=now):
        level = 1 + int((now - order.due_at) / sla(order.fault))
        if level <= order.escalation_level:
            continue
        current = maintainers.prefix_of_user(order.village_code, order.assignee_id)
        upper = maintainers.for_village(order.village_code, above=current)
        before = order.assignee_id
        order.escalation_level, order.escalated_at = level, now
        if upper is not None:
            order.assignee_id = upper
        order.save(update_fields=["escalation_level", "escalated_at", "assignee"])
        audit_record(
            actor=None,
            verb="work_order.escalate",
            obj=order,
            region_code=order.village_code,
            before={"assignee": before},
            after={"assignee": order.assignee_id, "level": level},
        )
        if order.assignee_id != before:
            work_order_assigned_notify(order=order, escalated=True)
        count += 1
    return count


def orders_for(terminals: Iterable[Terminal]) -> list[WorkOrder]:
    return list(WorkOrder.objects.filter(terminal__in=list(terminals)).order_by("-opened_at"))
