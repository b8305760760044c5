"""The command list in Chinese names its targets: regions by name, terminals by name and village."""

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.regions.models import Region
from ruralcast.terminals.commands import command_send
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db


def test_the_command_list_names_regions_and_terminals_not_their_codes(
    client: Client, county_station_operator: User, guzhou: Region, dashizi: Region
) -> None:
    terminal = terminal_register(actor=None, village=dashizi, name="广场大喇叭").terminal
    command_send(actor=county_station_operator, kind="volume", params={"volume": 60}, regions=[guzhou])
    command_send(actor=county_station_operator, kind="volume", params={"volume": 50}, terminals=[terminal])
    client.force_login(county_station_operator)
    page = client.get("/terminals/commands/").content.decode()
    assert guzhou.name in page and "广场大喇叭" in page
    assert f"<code>{guzhou.code}</code>" not in page
    assert terminal.code not in page
