"""Reporting tells people through ruralcast.notifications: a report sent back (退回) reaches the
person who did the step and everyone who does that step for the region, with who, when and why."""

from django.urls import reverse
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.notifications.kinds import REPORT_SENT_BACK
from ruralcast.notifications.selectors import region_people
from ruralcast.notifications.services import notify
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.reporting.models import DataSet


def report_sent_back_notify(
    *, actor: User, data_set: DataSet, period: str, region: Region, reason: str, step_by: User | None
) -> None:
    """Call inside `approval_revoke`'s transaction."""
    action = Action.REPORT_ENTER if region.level == Level.COUNTY else Action.REPORT_APPROVE
    recipients = [*region_people(region=region, action=action), *([step_by] if step_by else [])]
    notify(
        recipients=[person for person in recipients if person.pk != actor.pk],
        kind=REPORT_SENT_BACK.code,
        params={
            "data_set": data_set.name, "period": period, "region": region.name, "by": str(actor), "reason": reason,
            "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
        url=f"{reverse('reporting:approval', args=[data_set.code])}?region={region.code}&period={period}",
        region_code=region.code,
        actor=actor,
    )  # fmt: skip
