"""The doors into messaging: device accounts come from registered providers, the dispatcher's
signature from the registered signer; messaging itself imports neither terminals nor signing."""

from collections.abc import Iterator
from typing import Any

import pytest
from ruralcast_terminal.mqtt import ConnectRefused
from ruralcast_terminal.protocol import covering_codes, open_envelope

from ruralcast.messaging import credentials, handlers
from ruralcast.messaging.broker import ACL_FILE, PASSWORD_FILE, broker_config_write, broker_dir
from ruralcast.messaging.credentials import (
    BrokerAccount,
    mosquitto_password_hash,
    register_credentials_provider,
    unregister_credentials_provider,
)
from ruralcast.messaging.dispatcher import NoSigner, payload_sign
from ruralcast.messaging.handlers import register_payload_signer
from ruralcast.messaging.tests.conftest import Broker, connect_once
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.credentials import terminal_broker_accounts
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db

# A device that is not a terminal (say, a future household screen), in 大十字.
SCREEN = "99000000000000000000001"
SCREEN_PASSWORD = "a-screen-password-for-the-test"
DASHIZI = "522632100001"


@pytest.fixture
def screen_provider() -> Iterator[None]:
    account = BrokerAccount(
        username=SCREEN, password_hash=mosquitto_password_hash(SCREEN_PASSWORD), region_code=DASHIZI
    )
    register_credentials_provider("test-screens", lambda: [account])
    yield
    unregister_credentials_provider("test-screens")


@pytest.fixture
def own_signer() -> Iterator[None]:
    """The registered signer is restored after the test."""
    saved = list(handlers._SIGNERS)
    yield
    handlers._SIGNERS[:] = saved


def test_the_broker_files_name_every_account_the_providers_give(
    mqtt_settings: dict[str, Any], screen_provider: None, terminal: Registration
) -> None:
    broker_config_write()
    users = dict(line.split(":", 1) for line in (broker_dir() / PASSWORD_FILE).read_text().splitlines())
    assert {SCREEN, terminal.terminal.code} <= set(users), "terminals through their provider, the screen through its"
    acl = (broker_dir() / ACL_FILE).read_text()
    block = acl.split(f"user {SCREEN}\n", 1)[1].split("\nuser ", 1)[0]
    assert [line for line in block.splitlines() if line] == [
        f"topic read rc/v1/down/r/{code}/+" for code in covering_codes(DASHIZI)
    ]


def test_terminals_are_a_provider_like_any_other(mqtt_settings: dict[str, Any], terminal: Registration) -> None:
    assert "terminals" in credentials._PROVIDERS, "registered in TerminalsConfig.ready"
    unregister_credentials_provider("terminals")
    try:
        broker_config_write()
        assert terminal.terminal.code not in (broker_dir() / PASSWORD_FILE).read_text()
    finally:
        register_credentials_provider("terminals", terminal_broker_accounts)


def test_a_provided_device_connects_to_the_real_broker_with_its_password(screen_provider: None, broker: Broker) -> None:
    connect_once(broker.port, username=SCREEN, password=SCREEN_PASSWORD, client_id=SCREEN)
    with pytest.raises(ConnectRefused):
        connect_once(broker.port, username=SCREEN, password=SCREEN_PASSWORD + "x", client_id=SCREEN)


def test_the_dispatcher_seals_with_the_signer_the_signing_app_registered(run_dir: Any) -> None:
    signing_key_generate(actor=None, alg="Ed25519")
    _envelope, payload = open_envelope(payload_sign({"kind": "test", "n": 1}), trust_list_build())
    assert payload == {"kind": "test", "n": 1}


def test_the_dispatcher_uses_whichever_signer_is_registered(own_signer: None) -> None:
    register_payload_signer(lambda payload: b"sealed:" + repr(sorted(payload)).encode())
    assert payload_sign({"b": 1, "a": 2}) == b"sealed:['a', 'b']"


def test_without_a_signer_the_dispatcher_refuses_to_publish(own_signer: None) -> None:
    handlers._SIGNERS.clear()
    with pytest.raises(NoSigner, match=r"ruralcast\.signing"):
        payload_sign({"kind": "test"})
