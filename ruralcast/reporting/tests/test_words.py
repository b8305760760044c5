"""Reporting entry pages name regions as people read them, never by their 12-digit codes."""

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.regions.models import Region
from ruralcast.reporting.models import DataSet

pytestmark = pytest.mark.django_db

PERIOD = "2026-03"


def test_the_village_entry_page_names_the_village_and_its_township_not_its_code(
    client: Client, broadcast_set: DataSet, county_station_operator: User, dashizi: Region, guzhou: Region
) -> None:
    client.force_login(county_station_operator)
    answer = client.get(f"/reporting/entry/{broadcast_set.code}/", {"region": dashizi.code, "period": PERIOD})
    assert answer.status_code == 200
    page = answer.content.decode()
    heading = page.split("data-entry-region>")[1].split("</p>")[0]
    assert dashizi.name in heading and guzhou.name in heading
    assert dashizi.code not in heading
    assert f">{dashizi.code}<" not in page  # the code only rides in links and hidden fields


def test_the_list_of_villages_to_enter_names_them_without_a_code_column(
    client: Client, broadcast_set: DataSet, county_station_operator: User, guzhou: Region, dashizi: Region
) -> None:
    client.force_login(county_station_operator)
    answer = client.get(f"/reporting/entry/{broadcast_set.code}/", {"region": guzhou.code, "period": PERIOD})
    assert answer.status_code == 200
    page = answer.content.decode()
    assert dashizi.name in page
    assert f"<td>{dashizi.code}</td>" not in page and f">{dashizi.code}<" not in page
