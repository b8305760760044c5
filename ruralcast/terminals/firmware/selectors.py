"""Reads of firmware releases, scoped by the reader's `firmware.manage` grants."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.regions.models import Region
from ruralcast.terminals.models import FirmwareRelease, FirmwareState


def firmware_release_list(*, user: User) -> QuerySet[FirmwareRelease]:
    """Releases whose regions lie where the user manages firmware, waiting ones first, newest first."""
    scope = action_scope_q(user=user, action=Action.FIRMWARE_MANAGE, field="region_code")
    if scope is None:
        return FirmwareRelease.objects.none()
    return (
        FirmwareRelease.objects.filter(scope)
        .select_related("uploaded_by", "decided_by")
        .order_by("-uploaded_at", "-id")
    )


def access_firmware_release(*, user: User, release_id: int) -> FirmwareRelease:
    """One release the user may manage; NotFound otherwise (a release elsewhere does not exist for them)."""
    release = firmware_release_list(user=user).filter(pk=release_id).first()
    if release is None:
        raise NotFound(_("No such firmware release."))
    return release


def firmware_may_decide(*, user: User, release: FirmwareRelease) -> bool:
    """Whether the page offers Approve: a waiting release, another person, the role over every target."""
    if release.state != FirmwareState.PENDING or release.uploaded_by_id == user.pk:
        return False
    regions = Region.objects.filter(code__in=release.regions)
    return len(regions) == len(release.regions) and all(
        access_check(user=user, action=Action.FIRMWARE_MANAGE, region=region) for region in regions
    )


def firmware_file_servable(*, sha256: str) -> bool:
    """A terminal may download the file while an approved, unexpired release names it."""
    return FirmwareRelease.objects.filter(
        sha256=sha256, state=FirmwareState.APPROVED, expires_at__gt=timezone.now()
    ).exists()
