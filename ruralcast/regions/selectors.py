"""Reads of the region tree: lookup, subtree, ancestors, search for the region picker."""

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.core.errors import NotFound, ValidationError
from ruralcast.regions.codes import NATIONAL_CODE, Level, ancestor_codes, is_valid_code, subtree_q
from ruralcast.regions.models import Designation, Region


def region_get(*, code: str, field: str = "region") -> Region:
    """The region with this 12-digit code; a clear error (on input `field`) for a bad or unknown code."""
    code = (code or "").strip()
    if not is_valid_code(code):
        raise ValidationError(
            _("“%(code)s” is not a region code: use the 12-digit statistical code.") % {"code": code},
            fields={field: [_("Use a 12-digit code.")]},
        )
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound(_("No region has code %(code)s.") % {"code": code}, fields={field: [_("Unknown region.")]})
    return region


def region_root() -> Region:
    return region_get(code=NATIONAL_CODE)


def region_deployment_top() -> Region:
    """The top of what this deployment serves: its province when the tree holds exactly one
    province (a provincial deployment), otherwise the national root. Unpaired villagers' screens
    see this region's content."""
    provinces = list(Region.objects.filter(level=Level.PROVINCE)[:2])
    return provinces[0] if len(provinces) == 1 else region_root()


def region_subtree(*, region: Region) -> QuerySet[Region]:
    """The region and every region below it, by code range (no recursion)."""
    return Region.objects.filter(subtree_q(region.prefix))


def region_children(*, region: Region) -> QuerySet[Region]:
    return Region.objects.filter(parent=region).order_by("code")


def region_ancestors(*, region: Region) -> list[Region]:
    """Root first, the region itself excluded; one query."""
    codes = ancestor_codes(region.code, region.level)
    by_code = Region.objects.in_bulk(codes)
    return [by_code[c] for c in codes if c in by_code]


def region_path_label(*, region: Region) -> str:
    """E.g. “贵州省 / 黔东南苗族侗族自治州 / 榕江县” (placeholder city rows like 市辖区 skipped)."""
    names = [r.name for r in region_ancestors(region=region) if r.level > 0 and r.name not in ("市辖区", "县")]
    return " / ".join([*names, region.name])


def region_search(*, query: str, within: Region | None = None, limit: int = 20) -> list[Region]:
    """Regions matching a code prefix, a Chinese name part, full pinyin or pinyin initials.

    Results favour higher levels (a county before villages of the same name) then code order.
    """
    query = (query or "").strip()
    if not query:
        return []
    regions = Region.objects.all()
    if within is not None:
        regions = regions.filter(subtree_q(within.prefix))
    if query.isdigit():
        if len(query) > 12:
            return []
        matches = regions.filter(subtree_q(query))
    elif query.isascii():
        lowered = query.lower().replace(" ", "")
        matches = regions.filter(Q(pinyin__startswith=lowered) | Q(initials__startswith=lowered))
    else:
        matches = regions.filter(name__contains=query)
    return list(matches.order_by("level", "code")[:limit])


def region_counts_by_level(*, within: Q) -> dict[int, int]:
    """How many regions of each level lie inside `within` (a subtree filter on the code)."""
    counted = Region.objects.filter(within).values_list("level").annotate(n=Count("code")).values_list("level", "n")
    return dict(counted)


def region_match_by_names(*, name: str, parent_names: list[str]) -> list[Region]:
    """Regions called `name` whose ancestors include every one of `parent_names`.

    A parent name matches an ancestor's full name or its start (“贵州” matches “贵州省”).
    """
    candidates = list(Region.objects.filter(name=name)[:50])
    if not parent_names:
        return candidates
    kept = []
    for candidate in candidates:
        ancestor_names = [a.name for a in region_ancestors(region=candidate)]
        if all(any(a.startswith(p) for a in ancestor_names) for p in parent_names):
            kept.append(candidate)
    return kept


def designation_list() -> QuerySet[Designation]:
    return Designation.objects.all().order_by("name")


def designation_get(*, key: str) -> Designation:
    designation = Designation.objects.filter(key=key).first()
    if designation is None:
        raise NotFound(_("No designation has key “%(key)s”.") % {"key": key})
    return designation


def designation_regions(*, designation: Designation) -> QuerySet[Region]:
    return Region.objects.filter(designations=designation).order_by("code")
