"""The alert page names the event, the target regions and the sender in words, not by their codes."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import translation

from ruralcast.accounts.models import User
from ruralcast.alerts.events import event_types
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def test_the_alert_page_names_the_event_and_the_targets_with_their_parents_not_their_codes(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    zhongcheng: Region,
    fields_for: Callable[..., AlertFields],
) -> None:
    alert = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=fields_for([guzhou, zhongcheng], event_code="11B03"),
    )
    client.force_login(county_station_operator)
    page = client.get(f"/alerts/{alert.ebm_id}/").content.decode()

    with translation.override("zh-hans"):
        event_name = event_types()["11B03"].name
    event = page.split("data-event>")[1].split("</dd>")[0]
    assert event == event_name
    assert "11B03" not in page
    targets = page.split("data-targets>")[1].split("</ul>")[0]
    assert f"{rongjiang.name} / {guzhou.name}" in targets and f"{rongjiang.name} / {zhongcheng.name}" in targets
    assert guzhou.code not in targets and zhongcheng.code not in targets
    assert f"<code>{guzhou.code}</code>" not in page


def test_the_alert_page_in_english_names_the_event_in_english(
    client: Client, county_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]
) -> None:
    alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))
    client.force_login(county_station_operator)
    client.cookies["django_language"] = "en"
    page = client.get(f"/alerts/{alert.ebm_id}/").content.decode()
    with translation.override("en"):
        assert page.split("data-event>")[1].split("</dd>")[0] == event_types()["11B03"].name


def test_the_alert_heading_says_the_level_not_a_bare_number(
    client: Client, county_station_operator: User, rongjiang: Region, fields_for: Callable[..., AlertFields]
) -> None:
    alert = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))
    client.force_login(county_station_operator)
    heading = client.get(f"/alerts/{alert.ebm_id}/").content.decode().split("<h1>")[1].split("</h1>")[0]
    assert f">{alert.severity}级</span>" in heading
    client.cookies["django_language"] = "en"
    heading = client.get(f"/alerts/{alert.ebm_id}/").content.decode().split("<h1>")[1].split("</h1>")[0]
    assert f">Level {alert.severity}</span>" in heading
