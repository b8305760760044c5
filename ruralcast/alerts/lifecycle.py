"""Services of an approved message's life: publication bookkeeping, update, cancel, withdrawal, expiry.

A *chain* is an original Alert and every Update and Cancel referencing it. The rule this module
keeps: **until it expires, the message of a chain in force can always be updated or cancelled**,
from the detail page of any message of the chain and from the API, whatever happened before (an
Update dispatched, the dispatcher not yet done, the broker down half-way):

- `alert_mark_dispatched` (the dispatcher, once every region topic acknowledged): the message is
  in force, the terminals it reached are recorded (`TargetedTerminal`), and earlier messages of
  the chain are closed (`updated`, or `cancelled` by a Cancel);
- `alert_prepare_update` / `alert_cancel` act on the chain, not on one row. A Cancel names every
  message of the chain that may be on terminals (`payload.chain_references`);
- an approved message not yet published is stopped at once by `alert_cancel`: its outbox row is
  withdrawn (`messaging.services.outbox_withdraw`). If no byte of it had been stored for sending,
  nothing reached any terminal and the message is `withdrawn`; otherwise some regions may have it,
  so it is treated as dispatched and the Cancel goes to every region of the chain;
- `alerts_expire_due`: when the message in force ends, the chain's retained topics are cleared
  (every region any of its messages targeted). A dispatched Cancel stays retained until its own
  end (the end of what it cancels, at least 30 minutes), so a terminal that reconnects meanwhile
  learns that the alert is withdrawn; then it is cleared the same way.

Locks, always in this order, so that no two of these writers deadlock: outbox rows (the
dispatcher's mark step holds its row first), then alert rows, then the audit head.
"""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import BigIntegerField, CharField, F, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.alerts.chains import CANCEL_UNDER_WAY, FOLLOWUP_MINIMUM, SPOKEN, chain_in_force, chain_of
from ruralcast.alerts.models import Alert, AlertTarget, MsgType, State, TargetedTerminal
from ruralcast.alerts.services import (
    OUTBOX_CLEAR,
    OUTBOX_DISPATCH,
    AlertFields,
    alert_create,
    alert_submit,
)
from ruralcast.alerts.translations import translations_of
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict
from ruralcast.messaging.services import outbox_enqueue, outbox_withdraw
from ruralcast.regions.models import Region
from ruralcast.terminals.selectors import terminals_in_regions


def targeted_terminals_record(*, alert: Alert) -> int:
    """Record the terminals `alert` is published to, now: one INSERT … SELECT, whatever their number.

    Call inside the transaction that marks the message dispatched. One row per terminal of each
    target region's subtree (targets never overlap: `_set_targets` keeps the outermost), active at
    this moment. Returns how many were recorded. Idempotent: a message already recorded keeps its
    record.
    """
    if alert.terminals_recorded_at is not None:
        return alert.targeted_terminals
    regions = list(Region.objects.filter(code__in=AlertTarget.objects.filter(alert=alert).values("region_id")))
    parts = [
        terminals_in_regions(regions=[region])
        .order_by()
        .annotate(
            snapshot_alert=Value(alert.pk, output_field=BigIntegerField()),
            snapshot_terminal=F("code"),
            snapshot_village=F("village_id"),
            snapshot_region=Value(region.code, output_field=CharField()),
        )
        .values_list("snapshot_alert", "snapshot_terminal", "snapshot_village", "snapshot_region")
        for region in regions
    ]
    recorded = 0
    if parts:
        select = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        sql, params = select.query.sql_with_params()
        table = connection.ops.quote_name(TargetedTerminal._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (alert_id, terminal_code, village_id, region_id) {sql}",
                params,
            )
            recorded = max(cursor.rowcount, 0)
    alert.terminals_recorded_at, alert.targeted_terminals = timezone.now(), recorded
    Alert.objects.filter(pk=alert.pk).update(
        terminals_recorded_at=alert.terminals_recorded_at, targeted_terminals=recorded
    )
    return recorded


def alert_mark_dispatched(*, ebm_id: str) -> None:
    """Called by the dispatcher once every region topic acknowledged the publication (its mark step,
    in the transaction that marks the outbox row published).

    The message is in force; the terminals it reached are recorded; an Update closes the earlier
    messages of its chain as `updated`, a Cancel closes every message still in force as `cancelled`.
    """
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("references").get(ebm_id=ebm_id)
        if alert.state != State.APPROVED:
            return
        now = timezone.now()
        alert.state, alert.dispatched_at = State.DISPATCHED, now
        alert.save(update_fields=["state", "dispatched_at"])
        targeted_terminals_record(alert=alert)
        if alert.msg_type in (MsgType.UPDATE, MsgType.CANCEL) and alert.references_id:
            closed_state = State.CANCELLED if alert.msg_type == MsgType.CANCEL else State.UPDATED
            chain_of(alert.original).exclude(pk=alert.pk).filter(msg_type__in=SPOKEN, state=State.DISPATCHED).update(
                state=closed_state, closed_at=now
            )
        audit_record(
            actor=None,
            verb="alert.dispatched",
            obj=alert,
            region_code=alert.issuer_region_id,
            after={"dispatched_at": alert.dispatched_at, "terminals": alert.targeted_terminals},
        )


def _followup_fields(latest: Alert, *, targets: list[Region]) -> AlertFields:
    return AlertFields(
        status=latest.status,
        event_code=latest.event_code,
        severity=latest.severity,
        title=latest.title,
        text=latest.text,
        onset=latest.onset,
        expires=max(latest.expires, timezone.now() + FOLLOWUP_MINIMUM),
        targets=targets,
        urgency=latest.urgency,
        certainty=latest.certainty,
        scope=latest.scope,
        language=latest.language,
        volume=latest.volume,
        repeat=1,
        translations=translations_of(latest),
    )


def _withdraw_unsent(*, actor: User, original: Alert) -> list[Alert]:
    """Stop every approved message of the chain that the dispatcher has not published yet.

    Its outbox row is withdrawn first (row lock; the dispatcher never publishes it afterwards).
    A row whose bytes were not yet stored reached no terminal: the message becomes `withdrawn`.
    A row whose bytes were stored may have reached some regions (a publication cut short, or one
    in progress right now): the message is treated as dispatched (its terminals recorded), so the
    Cancel that follows goes to every region. Returns the messages stopped.
    """

    stopped: list[Alert] = []
    with transaction.atomic():
        waiting = list(chain_of(original).filter(msg_type__in=SPOKEN, state=State.APPROVED).order_by("pk"))
        if not waiting:
            return stopped
        rows = outbox_withdraw(
            actor=actor,
            kind=OUTBOX_DISPATCH,
            keys=[alert.ebm_id for alert in waiting],
            region_code=original.issuer_region_id,
        )
        now = timezone.now()
        for alert in waiting:
            row = rows.get(alert.ebm_id)
            locked = Alert.objects.select_for_update().get(pk=alert.pk)
            if locked.state != State.APPROVED or (row is not None and not row.withdrawn):
                continue  # published meanwhile: it is dispatched, and cancelled like any other
            maybe_sent = row is not None and row.prepared
            if maybe_sent:
                locked.state, locked.dispatched_at = State.DISPATCHED, now
                locked.save(update_fields=["state", "dispatched_at"])
                targeted_terminals_record(alert=locked)
            else:
                locked.state, locked.closed_at = State.WITHDRAWN, now
                locked.save(update_fields=["state", "closed_at"])
            audit_record(
                actor=actor,
                verb="alert.withdraw",
                obj=locked,
                region_code=locked.issuer_region_id,
                after={"maybe_published": maybe_sent, "state": locked.state},
            )
            stopped.append(locked)
    return stopped


def alert_cancel(*, actor: User, alert: Alert) -> Alert:
    """One click, from any message of a chain: stop whatever of the chain is on air or about to be.

    Withdraws what the dispatcher has not sent yet, then prepares the Cancel of what may be on
    terminals and submits it for approval by a second person at once (it travels the same path:
    approval, signature, publication). Returns the Cancel; a second click returns the Cancel
    under way. When nothing had left the platform, nothing needs cancelling on terminals: returns
    the withdrawn message (state `withdrawn`) and prepares no Cancel.
    """
    original = alert.original
    access_require(user=actor, action=Action.ALERT_DRAFT, region=original.issuer_region)
    stopped = _withdraw_unsent(actor=actor, original=original)
    with transaction.atomic():
        Alert.objects.select_for_update().filter(pk=original.pk).first()  # one cancel of a chain at a time
        under_way = (
            chain_of(original).filter(msg_type=MsgType.CANCEL, state__in=CANCEL_UNDER_WAY).order_by("-pk").first()
        )
        if under_way is None:
            in_force = chain_in_force(original=original)
            if not in_force:
                if stopped:
                    return stopped[-1]
                raise Conflict(_("Only an alert that is on air, or about to be sent, can be cancelled."))
            regions = Region.objects.filter(
                code__in=AlertTarget.objects.filter(alert__in=chain_of(original).filter(approved_at__isnull=False))
                .values("region_id")
                .distinct()
            )
            fields = _followup_fields(in_force[0], targets=list(regions.order_by("code")))
            fields.title = _("Cancelled: %(title)s") % {"title": original.title}
            fields.text = _("The earlier message “%(title)s” is withdrawn. Disregard it.") % {"title": original.title}
            under_way = alert_create(
                actor=actor,
                issuer_region=original.issuer_region,
                fields=fields,
                msg_type=MsgType.CANCEL,
                references=original,
            )
    if under_way.state == State.DRAFT:
        return alert_submit(actor=actor, alert=under_way)
    return under_way


def alert_prepare_update(*, actor: User, alert: Alert) -> Alert:
    """Prepare an Update of the chain's message in force as a draft, prefilled from it (any message
    of the chain may be given)."""
    original = alert.original
    in_force = chain_in_force(original=original)
    if not in_force:
        raise Conflict(_("Only an alert that is on air can be updated."))
    if chain_of(original).filter(msg_type=MsgType.CANCEL, state__in=CANCEL_UNDER_WAY[1:]).exists():
        raise Conflict(_("A cancel of this alert is under way; it cannot be updated."))
    latest = in_force[0]
    fields = _followup_fields(latest, targets=list(latest.targets.order_by("code")))
    return alert_create(
        actor=actor, issuer_region=original.issuer_region, fields=fields, msg_type=MsgType.UPDATE, references=original
    )


def alerts_expire_due(*, now: datetime | None = None) -> int:
    """Close dispatched messages whose end has passed; when a chain has nothing left in force,
    queue the clearing of all its retained topics (`alert.clear`, keyed by the message that ended).

    A chain with a message still waiting for the dispatcher is left for the next run: that message
    will take over the topics, and a clear queued now could overtake it.
    """

    now = now or timezone.now()
    count = 0
    for candidate in Alert.objects.filter(state=State.DISPATCHED, expires__lte=now).select_related("references"):
        with transaction.atomic():
            alert = Alert.objects.select_for_update(of=("self",)).select_related("references").get(pk=candidate.pk)
            if alert.state != State.DISPATCHED:
                continue
            chain = chain_of(alert.original).exclude(pk=alert.pk)
            if chain.filter(state=State.APPROVED).exists():
                continue
            alert.state, alert.closed_at = State.EXPIRED, now
            alert.save(update_fields=["state", "closed_at"])
            over = not chain.filter(state=State.DISPATCHED, expires__gt=now).exists()
            if over:
                outbox_enqueue(kind=OUTBOX_CLEAR, key=alert.ebm_id)
            audit_record(
                actor=None,
                verb="alert.expire",
                obj=alert,
                region_code=alert.issuer_region_id,
                after={"chain_cleared": over},
            )
        count += 1
    return count
