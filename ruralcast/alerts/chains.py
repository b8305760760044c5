"""Chains of messages: an original Alert and every Update and Cancel that references it.

Read by the approval rules (`services.approval_refusal`) and by the life-cycle services
(`lifecycle`), which is why it stands apart from both: what a chain is, which of its messages is
in force, and when a follow-up may be approved.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.alerts.models import Alert, MsgType, State
from ruralcast.core.errors import ApplicationError, Conflict

# A message of these types can be in force (a Cancel ends a chain; it is never "in force").
SPOKEN = (MsgType.ALERT, MsgType.UPDATE)
# A Cancel in one of these states is under way (a second click returns it).
CANCEL_UNDER_WAY = (State.DRAFT, State.SUBMITTED, State.APPROVED, State.DISPATCHED)
# A Cancel or Update lasts at least this long, so that it outlives a chain about to end.
FOLLOWUP_MINIMUM = timedelta(minutes=30)


def chain_of(original: Alert) -> QuerySet[Alert]:
    """Every message of the chain whose original is `original` (the original included)."""
    return Alert.objects.filter(Q(pk=original.pk) | Q(references=original))


def chain_in_force(*, original: Alert, now: datetime | None = None) -> list[Alert]:
    """The chain's dispatched Alert/Update messages that have not ended, latest first.

    Normally one; two only after a withdrawal that may have been partial (see the module doc).
    """
    now = now or timezone.now()
    return list(
        chain_of(original)
        .filter(msg_type__in=SPOKEN, state=State.DISPATCHED, expires__gt=now)
        .order_by("-dispatched_at", "-pk")
    )


def followup_refusal(*, alert: Alert) -> ApplicationError | None:
    """Why an Update or Cancel cannot be approved now (None for an original, or when it can).

    - Its chain must still be in force: nothing is left to update or cancel once it has ended.
    - An Update cannot be approved while a Cancel of the chain is under way, while another message of
      the chain waits for the dispatcher (it could overtake it on the retained topic), or when
      another follow-up was approved since it was prepared (it would bring back older words).
    """
    if alert.msg_type == MsgType.ALERT or not alert.references_id:
        return None
    original = alert.original
    if not chain_in_force(original=original):
        return Conflict(
            _("“%(title)s” is no longer on air (it ended or was cancelled): there is nothing left to change.")
            % {"title": original.title}
        )
    if alert.msg_type == MsgType.CANCEL:
        return None
    others = chain_of(original).exclude(pk=alert.pk)
    if others.filter(msg_type=MsgType.CANCEL, state__in=CANCEL_UNDER_WAY[1:]).exists():
        return Conflict(_("A cancel of this alert is under way; the update cannot be sent."))
    waiting = others.filter(state=State.APPROVED).first()
    if waiting is not None:
        return Conflict(
            _("%(id)s of this alert is still being sent; approve this update once it is out.") % {"id": waiting.ebm_id}
        )
    if others.filter(approved_at__gt=alert.created_at).exists():
        return Conflict(
            _("The alert changed after this update was prepared; prepare a new update from the latest message.")
        )
    return None
