"""Who is on duty now, and the ladder a page climbs when nobody answers.

The ladder of a region R for an action A (e.g. `alert.approve`) at a moment, most specific first:

    R's roster, tier 1 → tier 2 → tier 3 → everyone holding A with a grant on R itself
    → the same for R's parent (the city) → … → the national level (platform administrators).

A step lists only people who may do A over R *now* (their own grants decide, not the roster: a
rostered person whose approver role was revoked is skipped) and who are active. A tier without
anyone on duty at that moment is no step at all. Callers remove people who may not act (the
author) and those already paged. The ladder costs six queries whatever the number of people.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import ROLE_ACTIONS
from ruralcast.notifications.models import DutyOverride, DutySlot, Tier
from ruralcast.regions.codes import prefix_of
from ruralcast.regions.models import Region


@dataclass(frozen=True)
class LadderStep:
    region: Region
    tier: int | None  # None: everyone holding the action with a grant on `region`
    users: tuple[User, ...]

    @property
    def label(self) -> str | Promise:
        what = Tier(self.tier).label if self.tier is not None else _("everyone who may approve here")
        return format_lazy("{} · {}", self.region.name, what)

    @property
    def code(self) -> str:
        """Language-neutral name of the step, for the audit trail."""
        return f"{self.region.code}:{self.tier if self.tier is not None else 'all'}"


def _slot_covers(slot: DutySlot, local: datetime) -> bool:
    day, moment = local.weekday(), local.time()
    if slot.starts == slot.ends:  # the whole day
        return slot.weekday == day
    if slot.starts < slot.ends:
        return slot.weekday == day and slot.starts <= moment < slot.ends
    # Past midnight: the evening of its own day and the early hours of the next.
    return (slot.weekday == day and moment >= slot.starts) or (slot.weekday == (day - 1) % 7 and moment < slot.ends)


def on_duty(*, region_codes: Iterable[str], at: datetime) -> dict[tuple[str, int], set[int]]:
    """(region code, tier) → ids of the people on duty at `at`: the weekly pattern, plus on-duty
    overrides, minus people with an off-duty override for that region."""
    codes = list(region_codes)
    local = timezone.localtime(at)
    found: dict[tuple[str, int], set[int]] = defaultdict(set)
    days = [local.weekday(), (local.weekday() - 1) % 7]
    for slot in DutySlot.objects.filter(region_id__in=codes, weekday__in=days):
        if _slot_covers(slot, local):
            found[(slot.region_id, slot.tier)].add(slot.user_id)
    off: dict[str, set[int]] = defaultdict(set)
    for override in DutyOverride.objects.filter(region_id__in=codes, starts_at__lte=at, ends_at__gt=at):
        if override.on_duty:
            found[(override.region_id, override.tier)].add(override.user_id)
        else:
            off[override.region_id].add(override.user_id)
    for (code, _tier), users in found.items():
        users -= off.get(code, set())
    return found


def _holders(user_ids: set[int], action: str, region: Region) -> set[int]:
    """Those of `user_ids` whose grants allow `action` on `region` (one query)."""
    allowed: set[int] = set()
    for user_id, role, code, level in RoleGrant.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "role", "region__code", "region__level"
    ):
        if action in ROLE_ACTIONS.get(role, frozenset()) and region.code.startswith(prefix_of(code, level)):
            allowed.add(user_id)
    return allowed


def duty_ladder(
    *, region: Region, action: str, at: datetime | None = None, exclude: Iterable[int] = ()
) -> list[LadderStep]:
    """The steps a page about `region` climbs (see the module docstring), without `exclude`."""
    at = at or timezone.now()
    regions = sorted(Region.objects.filter(code__in=[*region.ancestor_codes, region.code]), key=lambda r: -r.level)
    codes = [r.code for r in regions]
    duty = on_duty(region_codes=codes, at=at)
    roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    granted: dict[str, set[int]] = defaultdict(set)
    for user_id, code in RoleGrant.objects.filter(region_id__in=codes, role__in=roles).values_list(
        "user_id", "region_id"
    ):
        granted[code].add(user_id)
    candidates = set().union(*duty.values(), *granted.values()) - set(exclude)
    allowed = _holders(candidates, action, region)
    people = {user.pk: user for user in User.objects.filter(pk__in=allowed, is_active=True)}

    steps: list[LadderStep] = []
    for place in regions:
        tiers = sorted(tier for code, tier in duty if code == place.code)
        for tier, ids in [(tier, duty[(place.code, tier)]) for tier in tiers] + [
            (None, granted.get(place.code, set()))
        ]:
            users = tuple(people[i] for i in sorted(ids) if i in people)
            if users:
                steps.append(LadderStep(region=place, tier=tier, users=users))
    return steps
