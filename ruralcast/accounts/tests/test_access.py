"""Who may do what where: the permission matrix of `access_check`, and the scope filters.

The expected answers are written out by hand from the role descriptions (roles.py's docstring and
the product brief), not derived from `ROLE_ACTIONS`, so a wrong entry in that table shows up here.
"""

from collections.abc import Callable

import pytest

from ruralcast.accounts.access import (
    access_check,
    access_require,
    action_prefixes,
    action_scope_q,
    forget_cached_scopes,
)
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action, Role
from ruralcast.accounts.services import role_grant
from ruralcast.core.errors import PermissionDenied
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.regions.tests.division_csv import rows_under

pytestmark = pytest.mark.django_db

TARGETS = {
    "national": "000000000000",
    "province": "520000000000",  # 贵州省
    "county": "522632000000",  # 榕江县
    "neighbour_county": "522633000000",  # 从江县
    "township": "522632100000",  # 古州镇, in 榕江县
    "neighbour_township": "522632101000",  # 忠诚镇, also in 榕江县
    "village": "522632100001",  # 大十字社区, in 古州镇
    "neighbour_village": "522632100002",  # 梨子园社区, also in 古州镇
}

ACTIONS = [
    Action.REGION_VIEW,
    Action.BROADCAST_LIVE,
    Action.ALERT_DRAFT,
    Action.ALERT_APPROVE,
    Action.USER_MANAGE,
    Action.ROLE_GRANT,
    Action.AUDIT_VIEW,
    Action.TERMINAL_MAINTAIN,
]

TOWNSHIP_SUBTREE = {"township", "village", "neighbour_village"}
COUNTY_SUBTREE = {"county", "neighbour_township"} | TOWNSHIP_SUBTREE
PROVINCE_SUBTREE = {"province", "neighbour_county"} | COUNTY_SUBTREE
EVERYWHERE = set(TARGETS)

ADMINISTRATION = {Action.REGION_VIEW, Action.USER_MANAGE, Action.ROLE_GRANT, Action.AUDIT_VIEW}
STATION_WORK = {Action.REGION_VIEW, Action.BROADCAST_LIVE, Action.ALERT_DRAFT}

# holder fixture → (targets where the holder acts, actions allowed there); everything else is refused.
EXPECTED: dict[str, tuple[set[str], set[Action]]] = {
    "platform_admin": (EVERYWHERE, set(ACTIONS)),
    "national_bureau_admin": (EVERYWHERE, ADMINISTRATION),
    "province_bureau_admin": (PROVINCE_SUBTREE, ADMINISTRATION),
    "county_bureau_admin": (COUNTY_SUBTREE, ADMINISTRATION),
    "county_station_operator": (COUNTY_SUBTREE, STATION_WORK),
    "county_alert_approver": (COUNTY_SUBTREE, {Action.REGION_VIEW, Action.ALERT_APPROVE}),
    "county_maintainer": (COUNTY_SUBTREE, {Action.REGION_VIEW, Action.TERMINAL_MAINTAIN}),
    "township_station_operator": (TOWNSHIP_SUBTREE, STATION_WORK),
    "township_viewer": (TOWNSHIP_SUBTREE, {Action.REGION_VIEW}),
    "village_broadcaster": ({"village"}, {Action.REGION_VIEW, Action.BROADCAST_LIVE}),
    "roleless_user": (set(), set()),
    "deactivated_operator": (set(), set()),
}


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("holder", list(EXPECTED))
def test_permission_matrix(request: pytest.FixtureRequest, holder: str, target: str) -> None:
    user: User = request.getfixturevalue(holder)
    region = region_get(code=TARGETS[target])
    reach, allowed = EXPECTED[holder]

    answers = {str(action): access_check(user=user, action=action, region=region) for action in ACTIONS}

    assert answers == {str(action): target in reach and action in allowed for action in ACTIONS}


def test_township_station_operator_cannot_act_on_neighbouring_township(
    township_station_operator: User, zhongcheng: Region
) -> None:
    assert not access_check(user=township_station_operator, action=Action.BROADCAST_LIVE, region=zhongcheng)
    with pytest.raises(PermissionDenied):
        access_require(user=township_station_operator, action=Action.ALERT_DRAFT, region=zhongcheng)


def test_township_station_operator_cannot_act_on_the_county_above(
    township_station_operator: User, rongjiang: Region, guzhou: Region
) -> None:
    assert access_check(user=township_station_operator, action=Action.BROADCAST_LIVE, region=guzhou)
    assert not access_check(user=township_station_operator, action=Action.BROADCAST_LIVE, region=rongjiang)
    assert not access_check(user=township_station_operator, action=Action.REGION_VIEW, region=rongjiang)


def test_village_broadcaster_can_broadcast_only_to_own_village(
    village_broadcaster: User, dashizi: Region, liziyuan: Region, guzhou: Region, rongjiang: Region
) -> None:
    assert access_check(user=village_broadcaster, action=Action.BROADCAST_LIVE, region=dashizi)
    for elsewhere in (liziyuan, guzhou, rongjiang):
        assert not access_check(user=village_broadcaster, action=Action.BROADCAST_LIVE, region=elsewhere)


def test_village_broadcaster_cannot_draft_alerts_even_in_own_village(
    village_broadcaster: User, dashizi: Region
) -> None:
    assert not access_check(user=village_broadcaster, action=Action.ALERT_DRAFT, region=dashizi)


def test_platform_admin_on_national_root_can_do_everything_everywhere(platform_admin: User) -> None:
    # Every action, on every level from the root down to villages, including one at the far end of the tree.
    regions = [region_get(code=code) for code in TARGETS.values()]
    far_end = Region.objects.filter(level=5).order_by("-code").first()
    assert far_end is not None
    regions.append(far_end)
    for region in regions:
        for action in Action:
            assert access_check(user=platform_admin, action=action, region=region), (action, region)


def test_deactivated_user_can_do_nothing(deactivated_operator: User, guzhou: Region, dashizi: Region) -> None:
    assert not deactivated_operator.is_active
    for region in (guzhou, dashizi):
        for action in Action:
            assert not access_check(user=deactivated_operator, action=action, region=region)
    assert action_prefixes(user=deactivated_operator, action=Action.BROADCAST_LIVE) == []
    assert action_scope_q(user=deactivated_operator, action=Action.BROADCAST_LIVE) is None


def test_unknown_action_is_refused_even_to_platform_admin(platform_admin: User, rongjiang: Region) -> None:
    assert not access_check(user=platform_admin, action="alert.launch_missiles", region=rongjiang)


def test_access_require_names_the_action_and_region_in_its_message(
    english: None, township_viewer: User, zhongcheng: Region
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        access_require(user=township_viewer, action=Action.BROADCAST_LIVE, region=zhongcheng)
    assert "Speak live to loudspeakers" in caught.value.message
    assert zhongcheng.name in caught.value.message


def test_grants_are_cached_per_user_object_until_forgotten(township_viewer: User, rongjiang: Region) -> None:
    same_person = User.objects.get(pk=township_viewer.pk)
    assert not access_check(user=same_person, action=Action.BROADCAST_LIVE, region=rongjiang)

    role_grant(actor=None, user=township_viewer, role=Role.STATION_OPERATOR, region=rongjiang)

    # The grant service refreshes the object it was given …
    assert access_check(user=township_viewer, action=Action.BROADCAST_LIVE, region=rongjiang)
    # … but another object of the same person keeps its cached grants until told to forget them.
    assert not access_check(user=same_person, action=Action.BROADCAST_LIVE, region=rongjiang)
    forget_cached_scopes(same_person)
    assert access_check(user=same_person, action=Action.BROADCAST_LIVE, region=rongjiang)


def test_checking_many_regions_costs_one_query(
    county_station_operator: User, django_assert_num_queries: Callable[..., object]
) -> None:
    person = User.objects.get(pk=county_station_operator.pk)
    regions = list(Region.objects.filter(code__startswith="5226")[:200])
    with django_assert_num_queries(1):  # type: ignore[attr-defined]
        for region in regions:
            access_check(user=person, action=Action.BROADCAST_LIVE, region=region)


def test_forget_cached_scopes_on_a_user_never_checked_is_harmless(township_viewer: User) -> None:
    fresh = User.objects.get(pk=township_viewer.pk)
    forget_cached_scopes(fresh)
    forget_cached_scopes(fresh)


# ---------------------------------------------------------------------------- scope filters


def test_action_prefixes_are_empty_where_the_user_may_do_nothing(township_viewer: User) -> None:
    assert action_prefixes(user=township_viewer, action=Action.BROADCAST_LIVE) == []
    assert action_scope_q(user=township_viewer, action=Action.BROADCAST_LIVE) is None


def test_action_prefixes_drop_a_grant_nested_inside_another(county_station_operator: User, guzhou: Region) -> None:
    role_grant(actor=None, user=county_station_operator, role=Role.STATION_OPERATOR, region=guzhou)
    assert action_prefixes(user=county_station_operator, action=Action.BROADCAST_LIVE) == ["522632"]


def test_action_prefixes_keep_disjoint_grants(township_station_operator: User, congjiang: Region) -> None:
    role_grant(actor=None, user=township_station_operator, role=Role.STATION_OPERATOR, region=congjiang)
    assert sorted(action_prefixes(user=township_station_operator, action=Action.BROADCAST_LIVE)) == [
        "522632100",
        "522633",
    ]


def test_action_prefixes_only_count_roles_allowing_the_action(
    township_viewer: User, rongjiang: Region, congjiang: Region
) -> None:
    role_grant(actor=None, user=township_viewer, role=Role.STATION_OPERATOR, region=congjiang)
    assert action_prefixes(user=township_viewer, action=Action.BROADCAST_LIVE) == ["522633"]
    assert sorted(action_prefixes(user=township_viewer, action=Action.REGION_VIEW)) == ["522632100", "522633"]


def test_platform_admin_scope_is_the_empty_prefix_covering_every_region(platform_admin: User) -> None:
    assert action_prefixes(user=platform_admin, action=Action.BROADCAST_LIVE) == [""]
    scope = action_scope_q(user=platform_admin, action=Action.BROADCAST_LIVE)
    assert scope is not None
    assert Region.objects.filter(scope).count() == Region.objects.count()


def test_scope_filter_selects_exactly_the_county_subtree(county_station_operator: User) -> None:
    scope = action_scope_q(user=county_station_operator, action=Action.BROADCAST_LIVE)
    assert scope is not None
    selected = Region.objects.filter(scope)
    assert selected.count() == rows_under("522632")
    assert not selected.exclude(code__startswith="522632").exists()


def test_scope_filter_joins_disjoint_grants(township_station_operator: User, congjiang: Region) -> None:
    role_grant(actor=None, user=township_station_operator, role=Role.STATION_OPERATOR, region=congjiang)
    scope = action_scope_q(user=township_station_operator, action=Action.ALERT_DRAFT)
    assert scope is not None
    assert Region.objects.filter(scope).count() == rows_under("522632100") + rows_under("522633")


def test_scope_filter_works_on_another_field(county_bureau_admin: User, make_user: Callable[..., User]) -> None:
    inside = make_user(region=region_get(code="522632101000"))
    outside = make_user(region=region_get(code="522633000000"))
    scope = action_scope_q(user=county_bureau_admin, action=Action.USER_VIEW, field="home_region_id")
    assert scope is not None
    visible = set(User.objects.filter(scope).values_list("username", flat=True))
    assert inside.username in visible
    assert county_bureau_admin.username in visible
    assert outside.username not in visible
