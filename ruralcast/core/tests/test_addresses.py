"""The client's address through trusted proxies only (audit item 14)."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from ruralcast.core.addresses import client_address


def address(remote: str, forwarded: str | None = None) -> str:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_without_trusted_proxies_the_peer_is_the_client_and_a_forged_header_changes_nothing() -> None:
    assert address("198.18.0.5", "203.0.113.9") == "198.18.0.5"
    assert address("127.0.0.1", "203.0.113.9") == "127.0.0.1"


@override_settings(RURALCAST_TRUSTED_PROXIES=["127.0.0.1/32", "198.18.71.0/24"])
def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() -> None:
    # nginx appends what it saw; whatever the client wrote stands to the left and is ignored.
    assert address("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert address("127.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"
    assert address("127.0.0.1", "6.6.6.6, 203.0.113.9, 198.18.71.2") == "203.0.113.9"
    assert address("127.0.0.1", "not-an-address, 203.0.113.9") == "203.0.113.9"
    # Only proxies in the chain: the left-most of them is as far as we can see.
    assert address("127.0.0.1", "198.18.71.2") == "198.18.71.2"
    assert address("127.0.0.1") == "127.0.0.1"
    # A proxy we do not trust in front of one we do: its own address is the client.
    assert address("127.0.0.1", "203.0.113.9, 192.0.2.1") == "192.0.2.1"
    # An untrusted peer's header is never read.
    assert address("192.0.2.7", "203.0.113.9") == "192.0.2.7"


@override_settings(RURALCAST_TRUSTED_PROXIES=["::1/128"])
def test_ipv6_peers_and_ipv4_mapped_addresses() -> None:
    assert address("::1", "2001:db8::7") == "2001:db8::7"
    assert address("::ffff:192.0.2.1") == "192.0.2.1"
    assert address("::1", "[2001:db8::7]:5000") == "2001:db8::7"


@override_settings(RURALCAST_TRUSTED_PROXIES=["127.0.0.1/33"])
def test_a_mistyped_trusted_proxy_stops_the_request_rather_than_trusting_silently() -> None:
    with pytest.raises(ImproperlyConfigured):
        address("127.0.0.1", "203.0.113.9")
