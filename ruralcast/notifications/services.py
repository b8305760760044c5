"""Writes of the notifications app: `notify`, reading them, contact details, the duty roster.

`notify(*, recipients, kind, params, …)` is what other apps call: inside their own transaction, next
to the write it tells about, so a rolled-back change tells nobody. Each recipient gets one
`Notification` (composed in their language, see kinds.py) and a `Delivery` per channel:

- console: always (the inbox; delivered when written);
- e-mail: when they have an address (their contact's, else their account's) and did not opt out;
- SMS: for urgent notifications only (live alerts awaiting approval), when they gave a number and
  did not opt out.

E-mail and SMS go out after the transaction commits (delivery.py). Every notification is audited.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import NotFound, PermissionDenied, ValidationError
from ruralcast.notifications.delivery import deliveries_send
from ruralcast.notifications.kinds import render, stored_params
from ruralcast.notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    DutyOverride,
    DutySlot,
    Escalation,
    Notification,
    NotificationContact,
    Tier,
)
from ruralcast.regions.models import Region

# The duty a roster is for: approving what waits for approval in its region.
DUTY_ACTION = Action.ALERT_APPROVE
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,18}[0-9]")


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("call notify() inside the transaction of the change it tells about")


def _language(user: User) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    return user.preferred_language if user.preferred_language in languages else settings.LANGUAGE_CODE


def _email_of(user: User, contact: NotificationContact | None) -> str:
    if contact is not None and not contact.email_enabled:
        return ""
    return (contact.email if contact and contact.email else user.email or "").strip()


def _phone_of(contact: NotificationContact | None) -> str:
    return contact.phone if contact is not None and contact.sms_enabled else ""


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    params: Mapping[str, Any],
    url: str = "",
    region_code: str = "",
    urgent: bool = False,
    escalation: Escalation | None = None,
    actor: User | None = None,
) -> list[Notification]:
    """Tell each of `recipients` (inactive accounts and duplicates skipped) about something; see the
    module docstring. Call inside the caller's transaction; e-mail and SMS leave after it commits."""
    _require_transaction()
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    contacts = {c.user_id: c for c in NotificationContact.objects.filter(user_id__in=list(people))}
    now = timezone.now()
    made: list[Notification] = []
    outgoing: list[Delivery] = []
    for user in people.values():
        title, body = render(kind, params, language=_language(user))
        notification = Notification.objects.create(
            recipient=user,
            kind=kind,
            title=title,
            body=body,
            params=stored_params(params),
            url=url,
            region_code=region_code,
            urgent=urgent,
            escalation=escalation,
            created_at=now,
        )
        contact = contacts.get(user.pk)
        deliveries = [
            Delivery(
                notification=notification,
                channel=Channel.CONSOLE,
                state=DeliveryState.SENT,
                sent_at=now,
                gateway="console",
            )
        ]
        if email := _email_of(user, contact):
            deliveries.append(
                Delivery(notification=notification, channel=Channel.EMAIL, address=email, next_attempt_at=now)
            )
        if urgent and (phone := _phone_of(contact)):
            deliveries.append(
                Delivery(notification=notification, channel=Channel.SMS, address=phone, next_attempt_at=now)
            )
        Delivery.objects.bulk_create(deliveries)
        outgoing.extend(d for d in deliveries if d.channel != Channel.CONSOLE)
        audit_record(
            actor=actor,
            verb="notification.create",
            obj=notification,
            region_code=region_code,
            after={
                "recipient": user.get_username(),
                "kind": kind,
                "urgent": urgent,
                "channels": [d.channel for d in deliveries],
                "escalation": escalation.pk if escalation else None,
            },
        )
        made.append(notification)
    if outgoing:
        ids = [d.pk for d in outgoing]
        transaction.on_commit(lambda: deliveries_send(ids=ids), robust=True)
    return made


def notification_mark_read(*, user: User, notification: Notification) -> Notification:
    if notification.recipient_id != user.pk:
        raise NotFound(_("No such notification."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def contact_update(
    *, actor: User, user: User, phone: str, email: str, sms_enabled: bool, email_enabled: bool
) -> NotificationContact:
    """Where `user` is reached. People change their own; nobody changes another's."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("Only the person themselves changes where they are reached."))
    phone = re.sub(r"\s+", " ", (phone or "").strip())
    if phone and not _PHONE.fullmatch(phone):
        raise ValidationError(
            _("Write the mobile number with digits only, e.g. 13800138000 or +86 138 0013 8000."),
            fields={"phone": [_("Not a phone number.")]},
        )
    with transaction.atomic():
        contact, _created = NotificationContact.objects.get_or_create(user=user)
        before = {
            "phone": bool(contact.phone),
            "email": bool(contact.email),
            "sms": contact.sms_enabled,
            "mail": contact.email_enabled,
        }
        contact.phone, contact.email = phone, (email or "").strip()
        contact.sms_enabled, contact.email_enabled = sms_enabled, email_enabled
        contact.save()
        # Which channels changed, not the number or address itself: the trail is read widely.
        after = {"phone": bool(contact.phone), "email": bool(contact.email), "sms": sms_enabled, "mail": email_enabled}
        audit_record(actor=actor, verb="notification.contact_update", obj=contact, before=before, after=after)
    return contact


# ---------------------------------------------------------------------------- the duty roster


def _require_roster_rights(actor: User, region: Region, person: User) -> None:
    """The manager holds duty.manage on the region; the person may do the duty there by their own
    grants (scope comes from the target's grants, never from the form)."""
    access_require(user=actor, action=Action.DUTY_MANAGE, region=region)
    if not person.is_active or not access_check(user=person, action=DUTY_ACTION, region=region):
        raise ValidationError(
            _("%(person)s may not approve in %(region)s, so cannot be on its duty roster.")
            % {"person": person, "region": region.name},
            fields={"user": [_("Not an approver of this region.")]},
        )


def _tier(tier: int) -> int:
    if tier not in Tier.values:
        raise ValidationError(_("Choose a tier."), fields={"tier": [_("Unknown tier.")]})
    return tier


def duty_slot_add(
    *, actor: User, region: Region, user: User, tier: int, weekdays: Iterable[int], starts: time, ends: time
) -> list[DutySlot]:
    """`user` on duty at `tier` from `starts` to `ends` on each of `weekdays` (0 = Monday)."""
    days = sorted(set(weekdays))
    if not days or any(day not in range(7) for day in days):
        raise ValidationError(_("Choose at least one day of the week."), fields={"weekdays": [_("Required.")]})
    _require_roster_rights(actor, region, user)
    tier = _tier(tier)
    with transaction.atomic():
        slots = [
            DutySlot.objects.create(
                region=region, user=user, tier=tier, weekday=day, starts=starts, ends=ends, created_by=actor
            )
            for day in days
        ]
        audit_record(
            actor=actor,
            verb="duty.slot_add",
            object_type="notifications.dutyslot",
            object_id=",".join(str(slot.pk) for slot in slots),
            object_label=str(slots[0]),
            region_code=region.code,
            after={"user": user.get_username(), "tier": tier, "weekdays": days, "starts": starts, "ends": ends},
        )
    return slots


def duty_slot_remove(*, actor: User, slot: DutySlot) -> None:
    access_require(user=actor, action=Action.DUTY_MANAGE, region=slot.region)
    with transaction.atomic():
        before = {
            "user": slot.user.get_username(),
            "tier": slot.tier,
            "weekday": slot.weekday,
            "starts": slot.starts,
            "ends": slot.ends,
        }
        audit_record(actor=actor, verb="duty.slot_remove", obj=slot, region_code=slot.region_id, before=before)
        slot.delete()


def duty_override_add(
    *,
    actor: User,
    region: Region,
    user: User,
    on_duty: bool,
    starts_at: datetime,
    ends_at: datetime,
    tier: int = Tier.FIRST,
    note: str = "",
) -> DutyOverride:
    """A one-off change: `user` on duty (a stand-in, at `tier`) or off duty (leave) in a window."""
    if ends_at <= starts_at:
        raise ValidationError(_("The end must come after the start."), fields={"ends_at": [_("Before the start.")]})
    if on_duty:
        _require_roster_rights(actor, region, user)
    else:  # taking someone off duty needs no approver rights of theirs
        access_require(user=actor, action=Action.DUTY_MANAGE, region=region)
    with transaction.atomic():
        override = DutyOverride.objects.create(
            region=region, user=user, on_duty=on_duty, tier=_tier(tier), starts_at=starts_at, ends_at=ends_at,
            note=note.strip()[:200], created_by=actor,
        )  # fmt: skip
        audit_record(
            actor=actor,
            verb="duty.override_add",
            obj=override,
            region_code=region.code,
            after={"user": user.get_username(), "on_duty": on_duty, "tier": tier, "from": starts_at, "until": ends_at},
        )
    return override


def duty_override_remove(*, actor: User, override: DutyOverride) -> None:
    access_require(user=actor, action=Action.DUTY_MANAGE, region=override.region)
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="duty.override_remove",
            obj=override,
            region_code=override.region_id,
            before={"user": override.user.get_username(), "on_duty": override.on_duty, "from": override.starts_at},
        )
        override.delete()
