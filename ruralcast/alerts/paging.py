"""An alert waiting for approval pages the approvers on duty (ruralcast.notifications).

`alert_submit` opens the page, `alert_approve` and `alert_reject` close it (a rejection also tells
the author and submitter why). A live alert is urgent (SMS too, the next tier after 5 minutes); a
drill or test waits 30 minutes per tier (settings.RURALCAST_NOTIFY). Call inside the service's
transaction.
"""

from django.urls import reverse
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.alerts.models import Alert
from ruralcast.notifications.kinds import ALERT_APPROVAL, ALERT_SENT_BACK, WARNING_APPROVAL
from ruralcast.notifications.paging import duty_page, duty_page_close
from ruralcast.notifications.services import notify

SUBJECT = "alerts.alert"


def _when() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")


def alert_page_open(*, alert: Alert, actor: User) -> None:
    duty_page(
        subject_type=SUBJECT,
        subject_id=alert.ebm_id,
        region=alert.issuer_region,
        kind=ALERT_APPROVAL.code,
        params={
            "title": alert.title,
            "region": alert.issuer_region.name,
            "by": str(actor),
            "at": _when(),
            "drill": alert.is_drill,
        },
        url=reverse("alerts:detail", args=[alert.ebm_id]),
        urgent=not alert.is_drill,
        exclude=[alert.created_by, actor],  # nobody approves what they drafted or submitted
        expires_at=alert.expires,
        actor=actor,
    )


def alert_page_close(*, alert: Alert, actor: User, outcome: str, reason: str = "") -> None:
    duty_page_close(subject_type=SUBJECT, subject_id=alert.ebm_id, actor=actor, outcome=outcome)
    if outcome == "rejected":
        notify(
            recipients=[user for user in (alert.created_by, alert.submitted_by) if user is not None],
            kind=ALERT_SENT_BACK.code,
            params={"title": alert.title, "by": str(actor), "at": _when(), "reason": reason, "drill": alert.is_drill},
            url=reverse("alerts:detail", args=[alert.ebm_id]),
            region_code=alert.issuer_region_id,
            actor=actor,
        )


def feed_draft_page_open(*, alert: Alert, feed_name: str) -> None:
    """A warning a CAP feed drafted pages the approvers on duty of its platform, like a submitted
    alert (the same subject: submission keeps the page, approval or rejection closes it). The feed's
    account drafted it, so it is excluded; one human must still submit and another approve."""
    duty_page(
        subject_type=SUBJECT,
        subject_id=alert.ebm_id,
        region=alert.issuer_region,
        kind=WARNING_APPROVAL.code,
        params={
            "title": alert.title,
            "region": alert.issuer_region.name,
            "by": feed_name,
            "at": _when(),
            "drill": alert.is_drill,
        },
        url=reverse("alerts:detail", args=[alert.ebm_id]),
        urgent=not alert.is_drill,
        exclude=[alert.created_by],
        expires_at=alert.expires,
        actor=None,
    )
