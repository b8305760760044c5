"""A security key end to end in headless Chromium, with the browser's own virtual authenticator.

Chromium's DevTools protocol (WebAuthn.addVirtualAuthenticator) plays a platform authenticator
with user verification (a laptop's fingerprint reader): the page's script calls
navigator.credentials.create() and .get() exactly as with a real key. WebAuthn refuses bare IP
addresses, so this test opens the demo server as http://localhost:PORT.
"""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_key_added_in_the_console_logs_in_instead_of_the_code(page: Page, demo_server: dict) -> None:
    url = str(demo_server["url"]).replace("127.0.0.1", "localhost")
    password = demo_server["credentials"]["rongjiang-approver"]
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    page.set_viewport_size({"width": 1280, "height": 860})

    log_in(page, url, "rongjiang-approver", password)
    page.goto(f"{url}/accounts/keys/")
    page.fill("input[name=name]", "笔记本指纹 laptop fingerprint")
    page.click("form[data-webauthn=register] button[type=submit]")
    expect(page.locator(".msg-success")).to_be_visible()
    expect(page.locator("[data-testid=security-keys]")).to_contain_text("笔记本指纹 laptop fingerprint")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "security-keys.png"), full_page=True)
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

    page.click("header form[action$='/logout/'] button[type=submit]")
    page.goto(f"{url}/")
    page.fill("input[name=username]", "rongjiang-approver")
    page.fill("input[name=password]", password)
    page.click("form[action$='/login/'] button[type=submit]")
    page.wait_for_url("**/accounts/second-factor/**")
    key_button = page.locator("[data-testid=use-security-key]")
    expect(key_button).to_be_visible()
    key_button.click()
    expect(page.locator(".role-alert_approver")).to_be_visible()
    credential = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
    assert credential["signCount"] >= 1
