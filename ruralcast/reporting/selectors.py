"""Reads of the reporting module, scoped by the viewer's grants: metadata, entry forms,
completeness and timeliness, the approval chain."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, action_prefixes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.regions.codes import CODE_LENGTH, Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.reporting.models import (
    Approval,
    Circular,
    DataElement,
    DataSet,
    DataValue,
    Indicator,
    Post,
    ReportReceipt,
    SendBack,
)
from ruralcast.reporting.periods import period_deadline


def data_sets() -> QuerySet[DataSet]:
    return DataSet.objects.prefetch_related("members__element")


def access_data_set(*, code: str) -> DataSet:
    data_set = DataSet.objects.filter(code=code).first()
    if data_set is None:
        raise NotFound(_("There is no data set “%(code)s”.") % {"code": code[:60]})
    return data_set


def access_report_region(*, user: User, code: str, action: str = Action.REPORT_VIEW) -> Region:
    """A region the user may read (or enter, approve) reports of; NotFound or PermissionDenied."""
    region = region_get(code=code)
    access_require(user=user, action=action, region=region)
    return region


def home_report_region(*, user: User, action: str = Action.REPORT_VIEW) -> Region | None:
    """The widest region where the user holds `action` (the default of report pages)."""
    prefixes = action_prefixes(user=user, action=action)
    if not prefixes:
        return None
    prefix = prefixes[0]
    return Region.objects.filter(code=prefix.ljust(CODE_LENGTH, "0")).first()


def items_by_codes(codes: list[str]) -> list[DataElement | Indicator]:
    """Elements and indicators named by code, in the order given (unknown codes are skipped)."""
    found: dict[str, DataElement | Indicator] = {e.code: e for e in DataElement.objects.filter(code__in=codes)}
    found.update({i.code: i for i in Indicator.objects.filter(code__in=codes)})
    return [found[c] for c in codes if c in found]


def entry_values(*, data_set: DataSet, period: str, region: Region) -> dict[str, DataValue]:
    return {
        v.element.code: v
        for v in DataValue.objects.filter(
            element__in=[m.element_id for m in data_set.members.all()], period=period, region=region
        ).select_related("element")
    }


def entry_regions(*, user: User, data_set: DataSet, parent: Region) -> QuerySet[Region]:
    """Regions at the data set's entry level in `parent`'s subtree where the user may enter."""
    prefixes = action_prefixes(user=user, action=Action.REPORT_ENTER)
    regions = Region.objects.filter(subtree_q(parent.prefix), level=data_set.entry_level)
    if not prefixes:
        return Region.objects.none()
    scope = subtree_q(prefixes[0])
    for prefix in prefixes[1:]:
        scope |= subtree_q(prefix)
    return regions.filter(scope).order_by("code")


@dataclass
class CompletenessRow:
    region: Region
    expected: int
    reported: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return round(100.0 * self.reported / self.expected, 1) if self.expected else None

    @property
    def timely_rate(self) -> float | None:
        return round(100.0 * self.on_time / self.expected, 1) if self.expected else None


@dataclass
class Completeness:
    region: Region
    deadline: datetime.date
    total: CompletenessRow
    rows: list[CompletenessRow]
    missing: list[Region]
    late: list[tuple[Region, datetime.datetime]]


def completeness(*, data_set: DataSet, period: str, region: Region, list_limit: int = 500) -> Completeness:
    """Who has reported `data_set` for `period` in `region`'s subtree, per child region; who has
    not (missing) and who reported after the deadline (late)."""
    deadline = period_deadline(period, data_set.due_days)
    expected = list(
        Region.objects.filter(subtree_q(region.prefix), level=data_set.entry_level)
        .order_by("code")
        .only("code", "name", "level")
    )
    if region.level == data_set.entry_level:
        expected = [region]
    receipts = {
        r.region_id: r.first_saved_at
        for r in ReportReceipt.objects.filter(data_set=data_set, period=period).filter(
            subtree_q(region.prefix, "region_id")
        )
    }
    tz = timezone.get_current_timezone()
    children = (
        list(Region.objects.filter(parent=region).order_by("code")) if region.level < data_set.entry_level else []
    )
    rows = {child.code: CompletenessRow(region=child, expected=0, reported=0, on_time=0) for child in children}
    total = CompletenessRow(region=region, expected=0, reported=0, on_time=0)
    missing: list[Region] = []
    late: list[tuple[Region, datetime.datetime]] = []
    for reporter in expected:
        saved = receipts.get(reporter.code)
        timely = saved is not None and saved.astimezone(tz).date() <= deadline
        targets = [total]
        for child in children:
            if reporter.code.startswith(child.prefix):
                targets.append(rows[child.code])
                break
        for row in targets:
            row.expected += 1
            row.reported += saved is not None
            row.on_time += timely
        if saved is None:
            missing.append(reporter)
        elif not timely:
            late.append((reporter, saved))
    return Completeness(
        region=region,
        deadline=deadline,
        total=total,
        rows=list(rows.values()),
        missing=missing[:list_limit],
        late=late[:list_limit],
    )


@dataclass
class ChainRow:
    region: Region
    approval: Approval | None


def approval_chain(*, data_set: DataSet, period: str, region: Region) -> tuple[Approval | None, list[ChainRow]]:
    """The step of `region` itself and of each region directly below it (counties and up)."""
    own = Approval.objects.filter(data_set=data_set, period=period, region=region).select_related("by").first()
    rows: list[ChainRow] = []
    if region.level < Level.COUNTY:
        children = list(Region.objects.filter(parent=region).order_by("code"))
        steps = {
            a.region_id: a
            for a in Approval.objects.filter(data_set=data_set, period=period, region__in=children).select_related("by")
        }
        rows = [ChainRow(region=child, approval=steps.get(child.code)) for child in children]
    return own, rows


def send_back_pending(*, data_set: DataSet, period: str, region: Region) -> SendBack | None:
    """The latest send-back of `region`'s step for the period, while the region has not stepped
    again since (no approval row, or one older than the send-back); None when nothing is pending.
    The entry and approval pages show it: who sent the report back, when and why."""
    latest = (
        SendBack.objects.filter(data_set=data_set, period=period, region=region)
        .select_related("by")
        .order_by("-at")
        .first()
    )
    if latest is None:
        return None
    stepped_again = Approval.objects.filter(data_set=data_set, period=period, region=region, at__gt=latest.at)
    return None if stepped_again.exists() else latest


def circulars(*, user: User) -> QuerySet[Circular]:
    prefixes = action_prefixes(user=user, action=Action.REPORT_VIEW)
    if not prefixes:
        return Circular.objects.none()
    scope = subtree_q(prefixes[0], "region_id")
    for prefix in prefixes[1:]:
        scope |= subtree_q(prefix, "region_id")
    return Circular.objects.filter(scope).select_related("region", "created_by")


def access_circular(*, user: User, pk: int) -> Circular:
    circular = circulars(user=user).filter(pk=pk).first()
    if circular is None:
        raise NotFound(_("No circular %(id)s in your regions.") % {"id": pk})
    return circular


def posts(*, user: User) -> QuerySet[Post]:
    """Work dynamics posted in the regions where the user may read reports."""
    prefixes = action_prefixes(user=user, action=Action.REPORT_VIEW)
    if not prefixes:
        return Post.objects.none()
    scope = subtree_q(prefixes[0], "region_id")
    for prefix in prefixes[1:]:
        scope |= subtree_q(prefix, "region_id")
    return Post.objects.filter(scope).select_related("region", "created_by").prefetch_related("attachments")


def access_post(*, user: User, pk: int) -> Post:
    post = posts(user=user).filter(pk=pk).first()
    if post is None:
        raise NotFound(_("No post %(id)s in your regions.") % {"id": pk})
    return post
