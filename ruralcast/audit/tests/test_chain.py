"""The audit trail: every service write is recorded, the hash chain verifies, tampering is caught.

UPDATE and DELETE on the event table are refused by database triggers. To show that the hash
chain catches what the triggers would stop, some tests switch the triggers off inside their own
transaction (rolled back at the end, so the triggers are back for the next test).
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import (
    api_token_create,
    api_token_revoke,
    role_grant,
    role_revoke,
    user_create,
    user_password_change,
    user_set_active,
)
from ruralcast.audit.models import AuditEvent
from ruralcast.audit.selectors import AuditFilter, audit_chain_verify, audit_event_list
from ruralcast.audit.services import SYSTEM_ACTOR, audit_record
from ruralcast.regions.models import Designation, Region
from ruralcast.regions.services import designation_delete, designation_import

pytestmark = pytest.mark.django_db


def events_after(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def head_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


@contextmanager
def triggers_disabled() -> Iterator[None]:
    """Switch off the append-only triggers for the rest of the test's transaction (vendor-specific)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
        elif connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        else:  # pragma: no cover — only the two supported databases
            pytest.skip(f"no trigger handling for {connection.vendor}")
    yield


# ---------------------------------------------------------------------------- every write is recorded


def test_user_create_records_who_created_whom_where(county_bureau_admin: User, guzhou: Region) -> None:
    start = head_seq()
    user = user_create(
        actor=county_bureau_admin,
        username="new-person",
        password=random_password(username="new-person"),
        home_region=guzhou,
    )
    [event] = events_after(start)
    assert (event.actor_id, event.actor_label, event.verb) == (
        county_bureau_admin.pk,
        county_bureau_admin.username,
        "user.create",
    )
    assert (event.object_type, event.object_id, event.region_code) == ("accounts.user", str(user.pk), guzhou.code)
    assert event.before is None
    assert event.after == {
        "username": "new-person",
        "full_name": "",
        "email": "",
        "home_region": guzhou.code,
        "is_active": True,
    }


def test_a_system_write_is_recorded_with_the_system_as_actor(guzhou: Region) -> None:
    start = head_seq()
    user_create(
        actor=None, username="set-up-person", password=random_password(username="set-up-person"), home_region=guzhou
    )
    [event] = events_after(start)
    assert (event.actor_id, event.actor_label) == (None, SYSTEM_ACTOR)


def test_no_password_or_hash_ever_reaches_the_audit_trail(county_bureau_admin: User, guzhou: Region) -> None:
    start = head_seq()
    password = random_password(username="secretive")
    user = user_create(actor=county_bureau_admin, username="secretive", password=password, home_region=guzhou)
    new_password = random_password(username="secretive")
    user_password_change(actor=county_bureau_admin, user=user, new_password=new_password)
    for event in events_after(start):
        text = f"{event.before} {event.after} {event.object_label}"
        for secret in (password, new_password, user.password):
            assert secret not in text


def test_role_grant_and_revoke_record_the_grant_before_and_after(
    county_bureau_admin: User, roleless_user: User, guzhou: Region
) -> None:
    start = head_seq()
    grant = role_grant(actor=county_bureau_admin, user=roleless_user, role=Role.STATION_OPERATOR, region=guzhou)
    grant_id = str(grant.pk)
    role_revoke(actor=county_bureau_admin, grant=grant)
    granted, revoked = events_after(start)
    summary = {
        "user": roleless_user.username,
        "user_id": roleless_user.pk,
        "role": Role.STATION_OPERATOR,
        "region": guzhou.code,
        "granted_by": county_bureau_admin.username,
    }
    assert (granted.verb, granted.actor_id, granted.region_code) == ("role.grant", county_bureau_admin.pk, guzhou.code)
    assert (granted.before, granted.after) == (None, summary)
    assert (revoked.verb, revoked.actor_id, revoked.region_code) == ("role.revoke", county_bureau_admin.pk, guzhou.code)
    assert (revoked.before, revoked.after) == ({**summary, "revoked_by": county_bureau_admin.username}, None)
    assert granted.object_id == revoked.object_id == grant_id


def test_deactivation_records_the_account_before_and_after(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    start = head_seq()
    user_set_active(actor=county_bureau_admin, user=township_viewer, is_active=False)
    [event] = events_after(start)
    assert (event.verb, event.region_code) == ("user.deactivate", guzhou.code)
    assert event.before is not None and event.after is not None
    assert (event.before["is_active"], event.after["is_active"]) == (True, False)


def test_token_creation_and_revocation_are_recorded(county_station_operator: User, rongjiang: Region) -> None:
    start = head_seq()
    token, _secret = api_token_create(user=county_station_operator, name="nightly report")
    api_token_revoke(actor=county_station_operator, token=token)
    created, revoked = events_after(start)
    assert (created.verb, created.actor_id, created.region_code) == (
        "api_token.create",
        county_station_operator.pk,
        rongjiang.code,
    )
    assert created.after is not None and created.after["prefix"] == token.prefix
    assert (revoked.verb, revoked.after) == ("api_token.revoke", {"prefix": token.prefix})


def test_designation_import_and_delete_are_recorded(county_bureau_admin: User) -> None:
    start = head_seq()
    designation_import(
        actor=county_bureau_admin, key="test-list", name="测试名单", csv_text="code\n522632100000\n522632101000\n"
    )
    designation = Designation.objects.get(key="test-list")
    designation_delete(actor=county_bureau_admin, designation=designation)
    created, deleted = events_after(start)
    assert (created.verb, created.actor_id) == ("designation.create", county_bureau_admin.pk)
    # Both townships lie in 榕江县: the event is filed under the county.
    assert created.region_code == "522632000000"
    assert created.after == {"name": "测试名单", "regions": ["522632100000", "522632101000"], "unmatched": 0}
    assert (deleted.verb, deleted.region_code, deleted.after) == ("designation.delete", "522632000000", None)
    assert deleted.before == {"name": "测试名单", "regions": ["522632100000", "522632101000"]}


# ---------------------------------------------------------------------------- the chain


def test_each_event_links_to_the_previous_one(county_bureau_admin: User, guzhou: Region) -> None:
    start = head_seq()
    for n in range(3):
        user_create(
            actor=county_bureau_admin,
            username=f"linked-{n}",
            password=random_password(username=f"linked-{n}"),
            home_region=guzhou,
        )
    events = events_after(start)
    assert [e.seq for e in events] == [start + 1, start + 2, start + 3]
    for earlier, later in pairwise(events):
        assert later.prev_hash == earlier.hash


def test_chain_verifies_after_a_series_of_writes(
    county_bureau_admin: User, township_station_operator: User, guzhou: Region
) -> None:
    user_create(
        actor=county_bureau_admin,
        username="verified",
        password=random_password(username="verified"),
        home_region=guzhou,
    )
    api_token_create(user=township_station_operator, name="script")
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.checked == AuditEvent.objects.count()


def test_chain_verifies_in_small_batches_too(county_bureau_admin: User, township_viewer: User) -> None:
    report = audit_chain_verify(batch_size=2)
    assert report.ok, report.problems
    assert report.checked == AuditEvent.objects.count()


def test_chain_hashes_chinese_text_and_nested_values_stably(rongjiang: Region) -> None:
    audit_record(
        actor=None,
        verb="test.unicode",
        region_code=rongjiang.code,
        object_label="榕江县广播站",
        after={"名称": "古州镇", "list": [1, 2, {"深": "层"}], "none": None},
    )
    assert audit_chain_verify().ok


def test_the_database_refuses_to_update_an_audit_event(township_viewer: User) -> None:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(after={"forged": True})
    event.refresh_from_db()
    assert event.after != {"forged": True}


def test_the_database_refuses_to_delete_an_audit_event(township_viewer: User) -> None:
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=head_seq()).delete()
    assert AuditEvent.objects.count() == count


def test_the_model_refuses_to_save_or_delete_an_existing_event(township_viewer: User) -> None:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_verification_reports_the_seq_of_an_altered_event(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    user_create(
        actor=county_bureau_admin, username="victim", password=random_password(username="victim"), home_region=guzhou
    )
    target = AuditEvent.objects.get(verb="user.create", object_label="victim")
    assert audit_chain_verify().ok

    with triggers_disabled():
        AuditEvent.objects.filter(pk=target.pk).update(after={"username": "someone-else"})

    report = audit_chain_verify()
    assert not report.ok
    assert report.problems == [f"#{target.seq}: content does not match its hash (altered)"]


def test_verification_reports_an_event_whose_hash_was_recomputed_as_a_broken_link(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    # A forger who also rewrites the altered event's own hash is caught at the next event's link.
    user_create(
        actor=county_bureau_admin, username="victim", password=random_password(username="victim"), home_region=guzhou
    )
    user_create(
        actor=county_bureau_admin, username="witness", password=random_password(username="witness"), home_region=guzhou
    )
    target = AuditEvent.objects.get(verb="user.create", object_label="victim")

    with triggers_disabled():
        AuditEvent.objects.filter(pk=target.pk).update(hash="f" * 64)

    problems = audit_chain_verify().problems
    assert f"#{target.seq}: content does not match its hash (altered)" in problems
    assert f"#{target.seq + 1}: previous-hash link broken" in problems


def test_verification_reports_a_gap_where_an_event_was_deleted(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    user_create(
        actor=county_bureau_admin, username="deleted", password=random_password(username="deleted"), home_region=guzhou
    )
    user_create(
        actor=county_bureau_admin,
        username="after-it",
        password=random_password(username="after-it"),
        home_region=guzhou,
    )
    target = AuditEvent.objects.get(verb="user.create", object_label="deleted")

    with triggers_disabled():
        AuditEvent.objects.filter(pk=target.pk).delete()

    problems = audit_chain_verify().problems
    assert f"#{target.seq + 1}: expected sequence {target.seq} (gap or deletion)" in problems
    assert f"#{target.seq + 1}: previous-hash link broken" in problems


def test_audit_verify_command_succeeds_on_an_intact_chain(township_viewer: User) -> None:
    call_command("audit_verify", stdout=io.StringIO(), stderr=io.StringIO())


def test_audit_verify_command_fails_on_a_broken_chain(township_viewer: User) -> None:
    target = AuditEvent.objects.order_by("-seq").first()
    assert target is not None
    with triggers_disabled():
        AuditEvent.objects.filter(pk=target.pk).update(object_label="rewritten history")
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit_verify", stdout=io.StringIO(), stderr=io.StringIO())


# ---------------------------------------------------------------------------- who reads what


@pytest.fixture
def events_in_three_places(rongjiang: Region, guzhou: Region, congjiang: Region) -> dict[str, AuditEvent]:
    """One event in a township of 榕江县, one in 从江县, one system-wide without a region."""
    return {
        "township": audit_record(actor=None, verb="test.township", region_code=guzhou.code),
        "neighbour_county": audit_record(actor=None, verb="test.neighbour", region_code=congjiang.code),
        "system": audit_record(actor=None, verb="test.system", region_code=""),
    }


def visible_test_events(user: User) -> set[str]:
    return set(audit_event_list(user=user, filters=AuditFilter(verb="test.")).values_list("verb", flat=True))


def test_county_bureau_admin_reads_only_events_in_the_county(
    county_bureau_admin: User, events_in_three_places: dict[str, AuditEvent]
) -> None:
    assert visible_test_events(county_bureau_admin) == {"test.township"}
    assert not audit_event_list(user=county_bureau_admin).exclude(region_code__startswith="522632").exists()


def test_province_bureau_admin_reads_the_province_but_not_system_events(
    province_bureau_admin: User, events_in_three_places: dict[str, AuditEvent]
) -> None:
    assert visible_test_events(province_bureau_admin) == {"test.township", "test.neighbour"}


@pytest.mark.parametrize("auditor", ["platform_admin", "national_bureau_admin"])
def test_national_audit_viewers_also_read_system_events(
    request: pytest.FixtureRequest, auditor: str, events_in_three_places: dict[str, AuditEvent]
) -> None:
    user: User = request.getfixturevalue(auditor)
    assert visible_test_events(user) == {"test.township", "test.neighbour", "test.system"}


@pytest.mark.parametrize("reader", ["county_station_operator", "township_viewer", "roleless_user"])
def test_people_without_audit_view_read_nothing(
    request: pytest.FixtureRequest, reader: str, events_in_three_places: dict[str, AuditEvent]
) -> None:
    user: User = request.getfixturevalue(reader)
    assert not audit_event_list(user=user).exists()


def test_audit_filters_narrow_the_listing(
    platform_admin: User, county_bureau_admin: User, guzhou: Region, zhongcheng: Region
) -> None:
    user_create(
        actor=county_bureau_admin,
        username="in-guzhou",
        password=random_password(username="in-guzhou"),
        home_region=guzhou,
    )
    user_create(
        actor=county_bureau_admin,
        username="in-zhongcheng",
        password=random_password(username="in-zhongcheng"),
        home_region=zhongcheng,
    )

    def labels(region_prefix: str = "", text: str = "", actor: str = "") -> set[str]:
        filters = AuditFilter(verb="user.create", region_prefix=region_prefix, text=text, actor=actor)
        listing = audit_event_list(user=platform_admin, filters=filters)
        return set(listing.values_list("object_label", flat=True))

    assert {"in-guzhou", "in-zhongcheng"} <= labels()
    assert labels(region_prefix=zhongcheng.prefix) == {"in-zhongcheng"}
    assert labels(text="in-guzhou") == {"in-guzhou"}
    assert {"in-guzhou", "in-zhongcheng"} <= labels(actor=county_bureau_admin.username[:8])


def test_role_grants_are_not_visible_outside_their_region(
    county_bureau_admin: User, neighbour_county_bureau_admin: User, roleless_user: User, guzhou: Region
) -> None:
    role_grant(actor=county_bureau_admin, user=roleless_user, role=Role.VIEWER, region=guzhou)
    grant_id = str(RoleGrant.objects.get(user=roleless_user).pk)
    assert audit_event_list(user=county_bureau_admin).filter(verb="role.grant", object_id=grant_id).exists()
    assert not audit_event_list(user=neighbour_county_bureau_admin).filter(object_id=grant_id).exists()
