"""Writes of the portal: posting and withdrawing notices (access check and audit in one transaction)."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ValidationError
from ruralcast.portal.models import TITLE_MAX, Notice
from ruralcast.regions.models import Region


def notice_post(*, actor: User, region: Region, title: str, body: str, expires_at: datetime) -> Notice:
    """Post a notice to the screens of `region` (and of every region below it) until `expires_at`.

    Refused unless `actor` may edit content in `region` (the notice's own region decides)."""
    access_require(user=actor, action=Action.CONTENT_EDIT, region=region)
    title = (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the notice a short title: it is shown in large type and read aloud.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("At most %(limit)s characters.") % {"limit": TITLE_MAX}]
    if expires_at <= timezone.now():
        errors["expires_at"] = [_("Choose a time in the future: the notice shows until then.")]
    if errors:
        raise ValidationError(_("The notice was not posted: correct the marked fields."), fields=errors)
    with transaction.atomic():
        notice = Notice.objects.create(
            region=region, title=title, body=(body or "").strip(), expires_at=expires_at, posted_by=actor
        )
        audit_record(
            actor=actor,
            verb="portal.notice_post",
            obj=notice,
            region_code=region.code,
            after={"title": notice.title, "expires_at": notice.expires_at},
        )
    return notice


def notice_withdraw(*, actor: User, notice: Notice) -> Notice:
    """Take a notice off the screens now (it stays in the console's list, expired)."""
    access_require(user=actor, action=Action.CONTENT_EDIT, region=notice.region)
    with transaction.atomic():
        before = notice.expires_at
        notice.expires_at = timezone.now()
        notice.save(update_fields=["expires_at"])
        audit_record(
            actor=actor,
            verb="portal.notice_withdraw",
            obj=notice,
            region_code=notice.region_id,
            before={"expires_at": before},
            after={"expires_at": notice.expires_at},
        )
    return notice
