"""Paging the people on duty about something waiting for them, and escalating when nobody answers.

    duty_page(subject_type="alerts.alert", subject_id=ebm_id, region=…, kind="approval.alert", …)
        → pages the first step of the duty ladder (ladder.py) now, by console, e-mail and, when
          urgent, SMS; the next step is due after the interval (settings: 5 minutes for a live
          alert, 30 for drills);
    escalations_run()   (manage.py notifications_run --every 15)
        → every escalation whose time has come pages the next step of people not yet paged; when
          the ladder has no one left it stops ("exhausted") and says so in the audit trail;
    duty_page_claim(actor=…)   "I am on it": escalation waits one more interval for them;
    duty_page_close(subject_type=…, subject_id=…, outcome="approved")   the end (approve/reject).

An imported CAP warning waiting for approval calls `duty_page` the same way with its own
subject_type and `kind="approval.warning"`. Each step is claimed by a conditional UPDATE on the
escalation row (same step, still due), so two `notifications_run` processes never page one step
twice. Every page, escalation, claim, close and exhaustion is audited.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, PermissionDenied
from ruralcast.notifications.kinds import ESCALATED
from ruralcast.notifications.ladder import duty_ladder
from ruralcast.notifications.models import ACTIVE_ESCALATION_STATES, Escalation, EscalationState
from ruralcast.notifications.services import notify
from ruralcast.regions.models import Region


def escalation_interval(*, urgent: bool) -> timedelta:
    config = settings.RURALCAST_NOTIFY
    minutes = config["ESCALATE_URGENT_MINUTES"] if urgent else config["ESCALATE_ROUTINE_MINUTES"]
    return timedelta(minutes=float(minutes))


def duty_page(
    *,
    subject_type: str,
    subject_id: str,
    region: Region,
    kind: str,
    params: Mapping[str, Any],
    url: str = "",
    urgent: bool = False,
    action: str = Action.ALERT_APPROVE,
    exclude: Iterable[User | None] = (),
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> Escalation:
    """Page whoever is on duty for `region` about the subject; idempotent while it stays open.

    Call inside the transaction of the change that makes the subject wait (e.g. alert_submit).
    `exclude`: people who may not act on it (its author and submitter). `params` feed the texts of
    `kind` and of the escalation message (`title`, `region`, `by`, `at`, plain values only: they are
    kept on the escalation). `expires_at`: past it, paging stops (the subject expired)."""
    if not connection.in_atomic_block:
        raise RuntimeError("call duty_page() inside the transaction of the change that makes the subject wait")
    active = Escalation.objects.filter(
        subject_type=subject_type, subject_id=subject_id, state__in=ACTIVE_ESCALATION_STATES
    )
    if existing := active.first():
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: a concurrent page of the same subject wins cleanly
            escalation = Escalation.objects.create(
                subject_type=subject_type, subject_id=subject_id, region=region, action=action, kind=kind,
                params=dict(params), url=url, urgent=urgent,
                interval_seconds=int(escalation_interval(urgent=urgent).total_seconds()),
                excluded=sorted({user.pk for user in exclude if user is not None}), opened_at=now, expires_at=expires_at,
            )  # fmt: skip
    except IntegrityError:
        return active.get()
    audit_record(
        actor=actor,
        verb="duty.page_open",
        obj=escalation,
        region_code=region.code,
        after={"subject": f"{subject_type}:{subject_id}", "urgent": urgent, "interval_s": escalation.interval_seconds},
    )
    _page_next(escalation, now=now, first=True)
    return escalation


def _page_next(escalation: Escalation, *, now: datetime, first: bool = False) -> bool:
    """Page the next ladder step with someone not yet paged; False when nobody is left."""
    ladder = duty_ladder(region=escalation.region, action=escalation.action, at=now, exclude=escalation.excluded)
    paged = set(escalation.paged)
    index = escalation.step
    while index < len(ladder):
        step = ladder[index]
        index += 1
        fresh = [user for user in step.users if user.pk not in paged]
        if fresh:
            break
    else:
        escalation.step, escalation.next_at = index, None
        escalation.save(update_fields=["step", "next_at"])
        audit_record(
            actor=None,
            verb="duty.exhausted",
            obj=escalation,
            region_code=escalation.region_id,
            after={"steps": index, "paged": len(paged)},
        )
        return False
    escalation.step, escalation.paged = index, sorted(paged | {user.pk for user in fresh})
    escalation.next_at = now + timedelta(seconds=escalation.interval_seconds)
    escalation.save(update_fields=["step", "paged", "next_at"])
    waited = max(1, round((now - escalation.opened_at).total_seconds() / 60))
    notify(
        recipients=fresh,
        kind=escalation.kind if first else ESCALATED.code,
        params={**escalation.params, "minutes": waited, "step": step.label},
        url=escalation.url,
        region_code=escalation.region_id,
        urgent=escalation.urgent,
        escalation=escalation,
    )
    audit_record(
        actor=None,
        verb="duty.page" if first else "duty.escalate",
        obj=escalation,
        region_code=escalation.region_id,
        after={"step": step.code, "recipients": sorted(user.get_username() for user in fresh)},
    )
    return True


def duty_page_claim(*, actor: User, escalation: Escalation, now: datetime | None = None) -> Escalation:
    """`actor` takes it on: the next tier is paged only if it still waits one interval from now."""
    if not escalation.is_active:
        raise Conflict(_("This has already been dealt with."))
    access_require(user=actor, action=escalation.action, region=escalation.region)
    if actor.pk in escalation.excluded:
        raise PermissionDenied(_("You wrote or submitted it: someone else on duty must take it on."))
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Escalation.objects.filter(pk=escalation.pk, state__in=ACTIVE_ESCALATION_STATES).update(
            state=EscalationState.CLAIMED,
            claimed_by=actor,
            claimed_at=now,
            next_at=now + timedelta(seconds=escalation.interval_seconds),
        )
        if not claimed:
            raise Conflict(_("This has already been dealt with."))
        escalation.refresh_from_db()
        audit_record(
            actor=actor,
            verb="duty.claim",
            obj=escalation,
            region_code=escalation.region_id,
            after={"until": escalation.next_at},
        )
    return escalation


def duty_page_close(*, subject_type: str, subject_id: str, actor: User | None, outcome: str) -> Escalation | None:
    """Stop paging about the subject (it was approved, rejected, withdrawn…). None if none was open.
    Call inside the transaction of the change that ends the wait."""
    escalation = Escalation.objects.filter(
        subject_type=subject_type, subject_id=subject_id, state__in=ACTIVE_ESCALATION_STATES
    ).first()
    if escalation is None:
        return None
    now = timezone.now()
    closed = Escalation.objects.filter(pk=escalation.pk, state__in=ACTIVE_ESCALATION_STATES).update(
        state=EscalationState.CLOSED, closed_at=now, closed_by=actor, outcome=outcome[:20], next_at=None
    )
    if closed:
        escalation.refresh_from_db()
        audit_record(
            actor=actor,
            verb="duty.page_close",
            obj=escalation,
            region_code=escalation.region_id,
            after={
                "outcome": outcome,
                "steps": escalation.step,
                "waited_s": int((now - escalation.opened_at).total_seconds()),
            },
        )
    return escalation


@dataclass
class EscalationReport:
    escalated: int = 0
    exhausted: int = 0
    expired: int = 0
    claims_lapsed: int = 0


def escalations_run(*, now: datetime | None = None) -> EscalationReport:
    """One pass of the periodic job: close expired escalations, page the next step of due ones."""
    now = now or timezone.now()
    report = EscalationReport()
    for escalation in Escalation.objects.filter(state__in=ACTIVE_ESCALATION_STATES, expires_at__lte=now):
        with transaction.atomic():
            if duty_page_close(
                subject_type=escalation.subject_type, subject_id=escalation.subject_id, actor=None, outcome="expired"
            ):
                report.expired += 1
    due = Escalation.objects.filter(state__in=ACTIVE_ESCALATION_STATES, next_at__lte=now)
    for pk, step, state in due.order_by("next_at").values_list("pk", "step", "state"):
        with transaction.atomic():
            # Claim this step: whoever changes the row first pages it; a second runner finds it moved on.
            won = Escalation.objects.filter(pk=pk, step=step, state=state, next_at__lte=now).update(
                state=EscalationState.OPEN, next_at=None
            )
            if not won:
                continue
            escalation = Escalation.objects.select_related("region").get(pk=pk)
            if state == EscalationState.CLAIMED:
                report.claims_lapsed += 1
                audit_record(
                    actor=None,
                    verb="duty.claim_lapsed",
                    obj=escalation,
                    region_code=escalation.region_id,
                    after={"claimed_by": escalation.claimed_by_id},
                )
            if _page_next(escalation, now=now):
                report.escalated += 1
            else:
                report.exhausted += 1
    return report
