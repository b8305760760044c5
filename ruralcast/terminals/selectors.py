"""Reads of the terminal registry."""

from django.db.models import QuerySet

from ruralcast.regions.codes import subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal


def terminals_active() -> QuerySet[Terminal]:
    return Terminal.objects.filter(revoked_at__isnull=True)


def terminals_in_regions(*, regions: list[Region]) -> QuerySet[Terminal]:
    """Active terminals whose village lies in the subtree of any of `regions`."""
    if not regions:
        return Terminal.objects.none()
    query = subtree_q(regions[0].prefix, "village_id")
    for region in regions[1:]:
        query |= subtree_q(region.prefix, "village_id")
    return terminals_active().filter(query)
