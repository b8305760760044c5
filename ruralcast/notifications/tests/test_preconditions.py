"""`notify` and `duty_page` run only inside the transaction of the change they tell about (so a
rolled-back change pages nobody); checked before any query, hence without a database."""

import pytest

from ruralcast.accounts.models import User
from ruralcast.notifications.paging import duty_page
from ruralcast.notifications.services import notify
from ruralcast.regions.models import Region


def test_notify_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        notify(recipients=[User(pk=1)], kind="approval.alert", params={})


def test_duty_page_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        duty_page(
            subject_type="alerts.alert",
            subject_id="1",
            region=Region(code="522632000000"),
            kind="approval.alert",
            params={},
        )
