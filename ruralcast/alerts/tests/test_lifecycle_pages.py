"""The life-cycle in the console and the API: Cancel and Update of the chain's latest message from
any of its pages, the Cancel's approval screen, and the demo's absent terminals (issue 12 item 1,
issue 15 items 17–18)."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.alerts.lifecycle import alert_cancel, alert_prepare_update
from ruralcast.alerts.models import Alert, MsgType, State
from ruralcast.alerts.tests.conftest import approve, dispatched, submitted
from ruralcast.alerts.times import local_text

pytestmark = pytest.mark.django_db


def _bearer(user: User) -> dict[str, str]:
    _token, secret = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def _updated(alert: Alert, operator: User, approver: User) -> tuple[Alert, Alert]:
    live = dispatched(alert, operator, approver)
    update = dispatched(alert_prepare_update(actor=operator, alert=live), operator, approver)
    live.refresh_from_db()
    return live, update


def test_every_page_of_a_live_chain_offers_cancel_and_update_of_its_latest_message(
    client: Client, county_station_operator: User, county_alert_approver: User, drafted: Alert
) -> None:
    live, update = _updated(drafted, county_station_operator, county_alert_approver)
    assert live.state == State.UPDATED
    client.force_login(county_station_operator)
    for page_of in (live, update):
        page = client.get(f"/alerts/{page_of.ebm_id}/").content.decode()
        assert f'action="/alerts/{update.ebm_id}/cancel/"' in page
        assert f'action="/alerts/{update.ebm_id}/update/"' in page
    assert f'href="/alerts/{update.ebm_id}/"' in client.get(f"/alerts/{live.ebm_id}/").content.decode()

    answer = client.post(f"/alerts/{live.ebm_id}/cancel/", follow=True)
    cancel = Alert.objects.get(msg_type=MsgType.CANCEL)
    assert answer.redirect_chain[-1][0] == f"/alerts/{cancel.ebm_id}/"
    page = client.get(f"/alerts/{update.ebm_id}/").content.decode()
    assert f'href="/alerts/{cancel.ebm_id}/"' in page and "/cancel/" not in page  # under way, not twice


def test_the_api_cancels_an_updated_alert_and_stops_one_not_yet_sent(
    client: Client,
    county_station_operator: User,
    county_alert_approver: User,
    drafted: Alert,
    rongjiang: Any,
    fields_for: Any,
) -> None:
    from ruralcast.alerts.services import alert_create

    live, update = _updated(drafted, county_station_operator, county_alert_approver)
    headers = _bearer(county_station_operator)
    answer = client.post(f"/api/v1/alerts/{live.ebm_id}/cancel", headers=headers)
    assert answer.status_code == 201, answer.content
    assert answer.json()["msg_type"] == "Cancel" and answer.json()["state"] == State.SUBMITTED
    again = client.post(f"/api/v1/alerts/{update.ebm_id}/update", headers=headers)
    assert again.status_code == 409  # a cancel is under way

    waiting = alert_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields_for([rongjiang]))
    approve(submitted(waiting, county_station_operator), county_alert_approver)
    stopped = client.post(f"/api/v1/alerts/{waiting.ebm_id}/cancel", headers=headers)
    assert stopped.status_code == 200 and stopped.json()["state"] == State.WITHDRAWN


def test_the_cancel_approval_screen_names_the_alert_it_cancels_in_its_level_colour(
    client: Client, county_station_operator: User, county_alert_approver: User, drafted: Alert, rongjiang: Any
) -> None:
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    cancel = alert_cancel(actor=county_station_operator, alert=live)
    client.force_login(county_alert_approver)
    page = client.get(f"/alerts/{cancel.ebm_id}/").content.decode()
    section = page[page.index("data-approval") :]
    assert f"approval-sev-{live.severity}" in page
    sentence = section[section.index("data-cancel-sentence") :]
    sentence = sentence[: sentence.index("</p>")]
    assert "撤销预警" in sentence and live.title in sentence
    assert local_text(live.sent_at, seconds=False) in sentence and rongjiang.name in sentence
    assert "演练" not in sentence.split(live.title)[0], "not “send a message with status 演练”"
    confirm = section[section.index('data-confirm="') :].split('"')[1]
    assert live.title in confirm and local_text(live.sent_at, seconds=False) in confirm


def test_the_live_page_says_the_demos_absent_terminals_are_offline_on_purpose(
    client: Client,
    settings: Any,
    tmp_path: Path,
    county_station_operator: User,
    county_alert_approver: User,
    drafted: Alert,
    village_terminals: list[Any],
) -> None:
    settings.RUN_DIR = tmp_path
    live = dispatched(drafted, county_station_operator, county_alert_approver)
    client.force_login(county_station_operator)
    assert "data-demo-offline" not in client.get(f"/alerts/{live.ebm_id}/status/").content.decode()

    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "terminals.passwords").write_text(
        "".join(f"{r.terminal.code}:{r.password}\n" for r in village_terminals)
    )
    page = client.get(f"/alerts/{live.ebm_id}/status/").content.decode()
    assert "data-demo-offline" in page
    note = page[page.index("data-demo-offline") :]
    assert "模拟终端：3 个" in note[: note.index("</p>")]
