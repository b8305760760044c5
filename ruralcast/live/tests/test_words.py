"""A live session's page in Chinese: the tier as a level, stop reasons and terminals as words, no codes."""

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.live.models import LiveReceipt
from ruralcast.live.services import live_session_start, live_session_stop
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db


def test_the_session_page_names_tier_reasons_and_terminals(
    client: Client, county_station_operator: User, guzhou: Region, dashizi: Region
) -> None:
    playing = terminal_register(actor=None, village=dashizi, name="广场大喇叭", issue_credentials=False).terminal
    dropped = terminal_register(actor=None, village=dashizi, name="学校大喇叭", issue_credentials=False).terminal
    session = live_session_start(actor=county_station_operator, target=guzhou)
    LiveReceipt.objects.create(session=session, terminal_code=playing.code, event="live_started")
    LiveReceipt.objects.create(session=session, terminal_code=dropped.code, event="live_started")
    LiveReceipt.objects.create(session=session, terminal_code=dropped.code, event="live_stopped", reason="preempted")
    client.force_login(county_station_operator)
    page = client.get(f"/live/{session.pk}/").content.decode()
    assert "县级" in page
    assert "广场大喇叭" in page
    assert "被更高优先级的广播打断: 1" in page
    assert playing.code not in page and "preempted" not in page
    live_session_stop(actor=county_station_operator, session=session, reason="stopped")
    listing = client.get("/live/").content.decode()
    assert "已结束" in listing and "(stopped)" not in listing
