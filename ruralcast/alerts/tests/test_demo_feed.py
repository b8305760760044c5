"""The demo CAP feed (a stand-in for the county meteorological bureau, `alerts.demo_feed`): served on
a free port, subscribed as demo_setup subscribes it, polled once: its four messages become drafts
for the county's approvers, the update and the cancel linked to what they change."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.demo import demo_feed_subscribe
from ruralcast.alerts.demo_feed import demo_feed_url, make_server
from ruralcast.alerts.feeds.poller import feed_poll
from ruralcast.alerts.models import Alert, EntryOutcome, MsgType, State, Status
from ruralcast.alerts.services import alert_submit, approval_refusal
from ruralcast.alerts.tests.conftest import stand_in_audio
from ruralcast.notifications.models import Escalation
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed_url(settings: Any) -> Iterator[str]:
    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RURALCAST_CAP_FEED_HOSTS = ["127.0.0.1"]
    yield demo_feed_url(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def people(make_user: Callable[..., User], guizhou: Region, rongjiang: Region) -> dict[str, User]:
    return {
        "bureau": make_user(role=Role.BUREAU_ADMIN, region=guizhou, username="gz-bureau"),
        "operator": make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-operator"),
        "approver": make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="rongjiang-approver"),
    }


def test_one_poll_of_the_demo_feed_drafts_its_four_messages(
    feed_url: str, people: dict[str, User], rongjiang: Region
) -> None:
    feed = demo_feed_subscribe(county=rongjiang, url=feed_url)
    assert feed is not None and demo_feed_subscribe(county=rongjiang, url=feed_url) is None  # idempotent
    result = feed_poll(feed=feed)
    assert result.status == "polled", result.error
    entries = sorted(feed.entries.all(), key=lambda e: e.url)
    assert [e.outcome for e in entries] == [EntryOutcome.IMPORTED] * 4, [e.reason for e in entries]
    drafts = {e.url.rsplit("/", 1)[-1]: e.alert for e in entries}
    assert all(a is not None for a in drafts.values())
    rain, upgrade, lightning, cancel = (Alert.objects.get(pk=drafts[f"{n}.xml"].pk) for n in (1, 2, 3, 4))  # type: ignore[union-attr]
    assert [a.msg_type for a in (rain, upgrade, lightning, cancel)] == [
        MsgType.ALERT,
        MsgType.UPDATE,
        MsgType.ALERT,
        MsgType.CANCEL,
    ]
    assert upgrade.references_id == rain.pk and cancel.references_id == lightning.pk
    for alert in (rain, upgrade, lightning, cancel):
        assert alert.state == State.DRAFT and alert.status == Status.EXERCISE
        assert alert.created_by_id == feed.account_id and alert.expires > alert.onset
    assert rain.title == "暴雨蓝色预警（演练）" and [t.code for t in rain.targets.all()] == ["522632100000"]
    assert sorted(t.code for t in upgrade.targets.all()) == ["522632100000", "522632101000"]
    # The bilingual warning keeps its English block.
    assert any("Lightning" in str(info) for info in lightning.imported.other_infos)
    # The county's approvers on duty are paged for each warning.
    assert Escalation.objects.filter(subject_type="alerts.alert", subject_id=rain.ebm_id).exists()
    # A second poll brings nothing new.
    feed.refresh_from_db()
    assert feed_poll(feed=feed).entries == []


def test_a_demo_feed_draft_needs_two_humans(feed_url: str, people: dict[str, User], rongjiang: Region) -> None:
    feed = demo_feed_subscribe(county=rongjiang, url=feed_url)
    assert feed is not None
    feed_poll(feed=feed)
    entry = next(e for e in feed.entries.all() if e.url.endswith("/1.xml"))
    assert entry.alert is not None
    stand_in_audio(entry.alert)
    alert = alert_submit(actor=people["operator"], alert=Alert.objects.get(pk=entry.alert.pk))
    assert approval_refusal(approver=people["operator"], alert=alert) is not None
    assert approval_refusal(approver=people["approver"], alert=alert) is None
