"""Managing a person is judged by the target's grants, not by where they live (audit items 15 and 4c).

A county administrator must not deactivate, reset, re-role or un-role a provincial approver who
happens to live in the county; nobody grants a role to themselves; every grant is audited with
role, region, grantee and granter and can be read back for the approval screen.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import role_grant, role_revoke, user_password_change, user_set_active
from ruralcast.audit.selectors import role_grants_recent
from ruralcast.core.errors import PermissionDenied
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def provincial_approver_living_in_the_county(
    make_user: Callable[..., User], guizhou: Region, rongjiang: Region
) -> User:
    approver = make_user(role=Role.ALERT_APPROVER, region=guizhou, username="gz-approver", home_region=rongjiang)
    return approver


def test_county_admin_cannot_deactivate_a_provincial_approver_living_in_the_county(
    county_bureau_admin: User, provincial_approver_living_in_the_county: User
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        user_set_active(actor=county_bureau_admin, user=provincial_approver_living_in_the_county, is_active=False)
    assert "520000000000" in caught.value.message
    provincial_approver_living_in_the_county.refresh_from_db()
    assert provincial_approver_living_in_the_county.is_active


def test_province_admin_may_deactivate_the_provincial_approver(
    province_bureau_admin: User, provincial_approver_living_in_the_county: User
) -> None:
    user_set_active(actor=province_bureau_admin, user=provincial_approver_living_in_the_county, is_active=False)
    provincial_approver_living_in_the_county.refresh_from_db()
    assert not provincial_approver_living_in_the_county.is_active


def test_county_admin_cannot_reset_the_password_of_a_provincial_approver(
    county_bureau_admin: User, provincial_approver_living_in_the_county: User
) -> None:
    new_password = random_password(username="gz-approver")
    with pytest.raises(PermissionDenied):
        user_password_change(
            actor=county_bureau_admin, user=provincial_approver_living_in_the_county, new_password=new_password
        )
    provincial_approver_living_in_the_county.refresh_from_db()
    assert not provincial_approver_living_in_the_county.check_password(new_password)


def test_county_admin_cannot_grant_or_revoke_roles_of_a_provincial_approver(
    county_bureau_admin: User, provincial_approver_living_in_the_county: User, guzhou: Region
) -> None:
    with pytest.raises(PermissionDenied):
        role_grant(
            actor=county_bureau_admin,
            user=provincial_approver_living_in_the_county,
            role=Role.STATION_OPERATOR,
            region=guzhou,
        )
    grant = RoleGrant.objects.get(user=provincial_approver_living_in_the_county)
    with pytest.raises(PermissionDenied):
        role_revoke(actor=county_bureau_admin, grant=grant)
    assert RoleGrant.objects.filter(user=provincial_approver_living_in_the_county).count() == 1


def test_county_admin_still_manages_people_whose_grants_lie_inside_the_county(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    grant = role_grant(actor=county_bureau_admin, user=township_viewer, role=Role.STATION_OPERATOR, region=guzhou)
    role_revoke(actor=county_bureau_admin, grant=grant)
    user_set_active(actor=county_bureau_admin, user=township_viewer, is_active=False)


def test_nobody_grants_a_role_to_themselves(county_bureau_admin: User, rongjiang: Region) -> None:
    """A bureau administrator may grant the approver role in the county, but not to themselves (4c)."""
    with pytest.raises(PermissionDenied) as caught:
        role_grant(actor=county_bureau_admin, user=county_bureau_admin, role=Role.ALERT_APPROVER, region=rongjiang)
    assert "themselves" in caught.value.message or "自己" in caught.value.message
    assert not RoleGrant.objects.filter(user=county_bureau_admin, role=Role.ALERT_APPROVER).exists()


def test_platform_admin_cannot_grant_themselves_a_role_either(platform_admin: User, rongjiang: Region) -> None:
    with pytest.raises(PermissionDenied):
        role_grant(actor=platform_admin, user=platform_admin, role=Role.ALERT_APPROVER, region=rongjiang)


def test_recent_role_grants_name_role_region_grantee_and_granter(
    county_bureau_admin: User, make_user: Callable[..., User], rongjiang: Region, guzhou: Region
) -> None:
    """What the alert approval screen shows: 'approver role granted 3 minutes ago by X'."""
    person = make_user(region=rongjiang, username="new-approver")
    started = timezone.now() - timedelta(seconds=1)
    grant = role_grant(actor=county_bureau_admin, user=person, role=Role.ALERT_APPROVER, region=rongjiang)
    role_grant(actor=county_bureau_admin, user=person, role=Role.VIEWER, region=guzhou)
    role_revoke(actor=county_bureau_admin, grant=grant)  # revoked since: the grant still shows

    records = role_grants_recent(user=person, roles=[Role.ALERT_APPROVER], since=started)

    assert [(r.role, r.region_code, r.grantee, r.granted_by) for r in records] == [
        (Role.ALERT_APPROVER, rongjiang.code, "new-approver", county_bureau_admin.username)
    ]
    assert records[0].granted_at >= started
    assert role_grants_recent(user=person, roles=[Role.ALERT_APPROVER], since=timezone.now()) == []
    assert role_grants_recent(user=county_bureau_admin, roles=[Role.ALERT_APPROVER], since=started) == []
