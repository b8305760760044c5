"""X-Forwarded-Proto counts only from a trusted proxy (production's SECURE_PROXY_SSL_HEADER)."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db
PAGE = "/accounts/login/"


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
    RURALCAST_TRUSTED_PROXIES=["198.18.71.0/24"],
)
def test_only_a_trusted_proxy_can_say_the_connection_was_https() -> None:
    # Through nginx (a trusted peer) saying https: served as HTTPS, no redirect.
    proxied = Client(REMOTE_ADDR="198.18.71.2").get(PAGE, headers={"x-forwarded-proto": "https"})
    assert proxied.status_code == 200
    # The same header from anyone else is dropped: plain HTTP, redirected to https like any plain request.
    forged = Client(REMOTE_ADDR="203.0.113.9").get(PAGE, headers={"x-forwarded-proto": "https"})
    assert forged.status_code == 301 and forged["location"].startswith("https://")
    # And a trusted proxy that forwarded plain HTTP is not taken for HTTPS.
    plain = Client(REMOTE_ADDR="198.18.71.2").get(PAGE, headers={"x-forwarded-proto": "http"})
    assert plain.status_code == 301


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), RURALCAST_TRUSTED_PROXIES=[])
def test_without_trusted_proxies_the_header_is_never_believed() -> None:
    answer = Client(REMOTE_ADDR="127.0.0.1").get(PAGE, headers={"x-forwarded-proto": "https"})
    assert answer.status_code == 200
    assert answer.wsgi_request.is_secure() is False
