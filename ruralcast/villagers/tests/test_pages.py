"""The console's screens page, the TV's pairing screen and the phone's pages, through the client."""

from collections.abc import Callable

import pytest
from django.test import Client, override_settings

from ruralcast.accounts.models import User
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen, Villager
from ruralcast.villagers.selectors import SCREEN_COOKIE
from ruralcast.villagers.services import household_create, screen_pair, screen_register
from ruralcast.villagers.tests.conftest import last_code

pytestmark = pytest.mark.django_db


def _tv() -> tuple[Client, Screen]:
    tv = Client()
    answer = tv.get("/portal/pair/")
    assert answer.status_code == 200
    screen = Screen.objects.order_by("-pk").first()
    assert screen is not None
    return tv, screen


def test_the_tv_gets_a_lasting_http_only_cookie_and_sees_its_code_and_a_qr_code(db: None) -> None:
    tv, screen = _tv()
    cookie = tv.cookies[SCREEN_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) > 9 * 365 * 24 * 3600
    page = tv.get("/portal/pair/").content.decode()
    assert Screen.objects.count() == 1, "the same box keeps its screen"
    assert f'data-pairing-code="{screen.pairing_code}"' in page and "<svg" in page
    assert f"/portal/me/pair/?code={screen.pairing_code}" not in page  # only inside the QR image
    assert 'hx-trigger="every 3s"' in page
    # htmx 1.9, the portal's (ES2017, what old TV browsers run), not the console's htmx 2.
    assert "/static/vendor/htmx1/htmx.min.js" in page and "/static/vendor/htmx/htmx.min.js" not in page


def test_the_pairing_screen_says_the_codes_lifetime_from_the_setting(db: None, settings) -> None:
    tv, _screen = _tv()
    tv.cookies["django_language"] = "en"
    assert "every 15 minutes" in tv.get("/portal/pair/").content.decode()
    with override_settings(RURALCAST_VILLAGERS={**settings.RURALCAST_VILLAGERS, "PAIRING_CODE_MINUTES": 7}):
        assert "every 7 minutes" in tv.get("/portal/pair/").content.decode()
        tv.cookies["django_language"] = "zh-hans"
        assert "每 7 分钟" in tv.get("/portal/pair/status/").content.decode()


def test_the_home_bar_offers_pairing_only_to_a_screen_that_is_not_paired(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    tv, screen = _tv()
    home = tv.get("/portal/").content.decode()
    assert 'id="portal-link-villagers-pair" href="/portal/pair/"' in home
    assert 'id="portal-link-villagers-me" href="/portal/me/"' in home
    screen_pair(code=screen.pairing_code, village=dashizi, label="张家", actor=county_station_operator, address="")
    home = tv.get("/portal/").content.decode()
    assert "portal-link-villagers-pair" not in home
    assert 'id="portal-link-villagers-me" href="/portal/me/"' in home


def test_the_tv_moves_on_once_the_operator_confirmed_and_starts_over_after_revocation(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    tv, screen = _tv()
    assert tv.get("/portal/pair/status/").status_code == 200
    client.force_login(county_station_operator)
    answer = client.post(
        "/villagers/screens/pair/", {"code": screen.pairing_code, "village": dashizi.code, "label": "张家"}
    )
    assert answer.status_code == 302
    status = tv.get("/portal/pair/status/")
    assert status["HX-Redirect"] == "/portal/"
    assert tv.get("/portal/pair/")["Location"] == "/portal/"
    listing = client.get("/villagers/screens/").content.decode()
    assert "张家" in listing and dashizi.name in listing
    assert client.post(f"/villagers/screens/{screen.pk}/revoke/").status_code == 302
    assert tv.get("/portal/pair/status/")["HX-Redirect"] == "/portal/pair/"
    assert tv.get("/portal/pair/").status_code == 200
    assert Screen.objects.count() == 2, "a revoked box registers anew"


def test_a_wrong_code_in_the_console_answers_400_and_keeps_the_input(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    client.force_login(county_station_operator)
    answer = client.post("/villagers/screens/pair/", {"code": "000000", "village": dashizi.code, "label": "李家"})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert 'value="李家"' in page and 'value="000000"' in page


def test_the_console_lists_only_screens_in_the_users_villages_and_searches(
    client: Client, village_broadcaster: User, county_station_operator: User, dashizi: Region, liziyuan: Region
) -> None:
    for village, label in ((dashizi, "大十字电视"), (liziyuan, "栗子园电视")):
        screen, _token = screen_register(user_agent="box")
        screen_pair(actor=county_station_operator, code=screen.pairing_code, village=village, label=label)
    client.force_login(village_broadcaster)
    page = client.get("/villagers/screens/").content.decode()
    assert "大十字电视" in page and "栗子园电视" not in page
    client.force_login(county_station_operator)
    assert "栗子园电视" not in client.get("/villagers/screens/?q=大十字").content.decode()
    other = Screen.objects.get(label="栗子园电视")
    client.force_login(village_broadcaster)
    assert client.post(f"/villagers/screens/{other.pk}/revoke/").status_code == 404


def test_a_county_operator_pairing_outside_the_county_is_refused_with_403(
    client: Client, county_station_operator: User, congjiang_village: Region
) -> None:
    _tv_client, screen = _tv()
    client.force_login(county_station_operator)
    answer = client.post("/villagers/screens/pair/", {"code": screen.pairing_code, "village": congjiang_village.code})
    assert answer.status_code == 403
    screen.refresh_from_db()
    assert not screen.is_paired


def test_a_viewer_does_not_get_the_screens_page(client: Client, township_viewer: User) -> None:
    client.force_login(township_viewer)
    assert client.get("/villagers/screens/").status_code == 403


def test_a_household_signs_in_on_the_phone_and_pairs_its_tv_from_the_qr_link(
    sms_log: Callable[[], list[str]], dashizi: Region
) -> None:
    tv, screen = _tv()
    phone = Client()
    link = f"/portal/me/pair/?code={screen.pairing_code}"
    answer = phone.get(link)
    assert answer.status_code == 302 and "/portal/me/sign-in/" in answer["Location"]
    answer = phone.post(answer["Location"], {"phone": "100 0000 0017"})
    assert answer.status_code == 302
    code = last_code(sms_log())
    wrong = phone.post(answer["Location"], {"code": "999999" if code != "999999" else "111111", "consent": "on"})
    assert wrong.status_code == 400
    answer = phone.post(answer["Location"], {"code": code, "consent": "on", "display_name": "张三"})
    assert answer.status_code == 302 and answer["Location"] == link
    villager = Villager.objects.get()
    household_create(villager=villager, village=dashizi, label="张家")
    form = phone.get(link).content.decode()
    assert f'value="{screen.pairing_code}"' in form
    assert phone.post("/portal/me/pair/", {"code": screen.pairing_code}).status_code == 302
    assert tv.get("/portal/pair/status/")["HX-Redirect"] == "/portal/"
    home = phone.get("/portal/me/").content.decode()
    assert "张家" in home and "100000000" in home


def test_the_phone_downloads_and_deletes_its_data(signed_up: Callable[..., Villager], client: Client) -> None:
    signed_up()
    session = client.session
    session["rc_villager"] = Villager.objects.get().pk
    session.save()
    export = client.get("/portal/me/my-data.json")
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment")
    assert export.json()["villager"]["phone"] == "10000000017"
    assert client.get("/portal/me/delete/").status_code == 200
    assert client.post("/portal/me/delete/").status_code == 200
    assert not Villager.objects.exists()
    assert client.get("/portal/me/").status_code == 302


def test_a_child_without_the_guardians_consent_is_refused_with_400_and_the_input_kept(
    signed_up: Callable[..., Villager], client: Client, dashizi: Region
) -> None:
    villager = signed_up()
    household_create(villager=villager, village=dashizi, label="刘家")
    session = client.session
    session["rc_villager"] = villager.pk
    session.save()
    answer = client.post("/portal/me/members/", {"display_name": "小刘", "is_minor": "on"})
    assert answer.status_code == 400 and 'value="小刘"' in answer.content.decode()


def test_the_phone_walks_down_to_its_village_to_set_up_the_household(
    signed_up: Callable[..., Villager], client: Client, dashizi: Region
) -> None:
    villager = signed_up()
    session = client.session
    session["rc_villager"] = villager.pk
    session.save()
    assert dashizi.parent_id is not None
    township = client.get(f"/portal/me/household/?under={dashizi.parent_id}").content.decode()
    assert f"?under={dashizi.code}" in township
    answer = client.post(f"/portal/me/household/?under={dashizi.code}", {"label": "周家", "address": "2 号"})
    assert answer.status_code == 302
    villager.refresh_from_db()
    assert villager.household is not None and villager.household.village == dashizi
