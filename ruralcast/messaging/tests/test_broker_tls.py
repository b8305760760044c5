"""The broker's listeners: terminals over TLS pinned to the platform's CA, plain TCP on loopback only
(unless an operator opts in), and a terminal's client id bound to its user name (docs/security.md)."""

import asyncio
import socket
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from ruralcast_terminal.config import AgentConfig
from ruralcast_terminal.fleet import Fleet
from ruralcast_terminal.fleet_plan import TerminalSpec
from ruralcast_terminal.mqtt import Client, ConnectRefused
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.provision import check_credentials
from ruralcast_terminal.tls import client_context

from ruralcast.messaging.broker import TLS13_CIPHERSUITES, BrokerError, broker_config_write, broker_dir
from ruralcast.messaging.client import Publication, platform_client_id
from ruralcast.messaging.tests.conftest import Broker, free_port, wait_for
from ruralcast.messaging.tls import CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE, tls_files_ensure
from ruralcast.terminals.provisioning import provisioning_document
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def tls_settings(settings: Any, mqtt_settings: dict[str, Any]) -> dict[str, Any]:
    settings.RURALCAST_MQTT = {**settings.RURALCAST_MQTT, "TLS_PORT": free_port(), "TERMINAL_LISTEN": "127.0.0.1"}
    return settings.RURALCAST_MQTT


@pytest.fixture
def tls_broker(
    tls_settings: dict[str, Any], terminal: Registration, other_terminal: Registration, broker: Broker
) -> Broker:
    """The `broker` fixture, started with a TLS listener, both test terminals allowed."""
    broker.sync()
    return broker


def ca_pem() -> str:
    return (broker_dir() / CA_CERT_FILE).read_text()


def tls_client(
    client_id: str, port: int, *, username: str, password: str, ca: str | None = None, **kwargs: Any
) -> Client:
    return Client(
        client_id,
        "127.0.0.1",
        port,
        username=username,
        password=password,
        ssl=client_context(ca or ca_pem()),
        connect_timeout=3,
        **kwargs,
    )


def test_the_tls_listener_has_the_platforms_certificate_and_binds_client_ids(tls_settings: dict[str, Any]) -> None:
    text = broker_config_write().read_text()
    directory = broker_dir()
    assert f"listener {tls_settings['PORT']} 127.0.0.1\n" in text
    tls_block = text.split(f"listener {tls_settings['TLS_PORT']} 127.0.0.1\n", 1)[1].split("listener ", 1)[0]
    assert f"certfile {directory / SERVER_CERT_FILE}" in tls_block
    assert f"keyfile {directory / SERVER_KEY_FILE}" in tls_block
    assert "use_username_as_clientid true" in tls_block
    # The platform's listener (before the TLS one) does not bind client ids: its processes share one account.
    assert "use_username_as_clientid" not in text.split(f"listener {tls_settings['TLS_PORT']}", 1)[0]
    for name in (CA_KEY_FILE, SERVER_KEY_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_the_broker_certificate_is_reissued_by_the_same_ca_when_its_names_change(
    settings: Any, tls_settings: dict[str, Any]
) -> None:
    first = tls_files_ensure(broker_dir())
    ca_before, cert_before = first.ca.read_bytes(), first.cert.read_bytes()
    assert tls_files_ensure(broker_dir()).cert.read_bytes() == cert_before  # unchanged names: kept
    settings.RURALCAST_MQTT = {**tls_settings, "PUBLIC_ADDRESS": "mqtt.example.cn:8883"}
    second = tls_files_ensure(broker_dir())
    assert second.ca.read_bytes() == ca_before
    cert = x509.load_pem_x509_certificate(second.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mqtt.example.cn" in names.get_values_for_type(x509.DNSName)
    assert cert.issuer == x509.load_pem_x509_certificate(ca_before).subject


def test_the_plain_listener_refuses_a_network_address(settings: Any, tls_settings: dict[str, Any]) -> None:
    settings.RURALCAST_MQTT = {**tls_settings, "LISTEN": "0.0.0.0"}
    with pytest.raises(BrokerError, match=r"RURALCAST_MQTT_LISTEN=0\.0\.0\.0"):
        broker_config_write()


def test_a_terminal_connects_over_tls_with_the_ca_its_provisioning_file_carries(
    tls_broker: Broker, terminal: Registration, tmp_path: Path
) -> None:
    document = provisioning_document(registration=terminal, trust=[])
    assert document["broker"] == f"127.0.0.1:{tls_broker_port()}"
    assert document["broker_ca"] == ca_pem()
    config = AgentConfig.from_dict(document, base=tmp_path)
    asyncio.run(check_credentials(config, timeout=3))  # TLS, CA pinned, CONNECT accepted
    config.password = terminal.password + "x"
    with pytest.raises(ConnectRefused):
        asyncio.run(check_credentials(config, timeout=3))


def tls_broker_port() -> int:
    from django.conf import settings

    return int(settings.RURALCAST_MQTT["TLS_PORT"])


def test_a_broker_certificate_another_ca_signed_is_refused(
    tls_broker: Broker, terminal: Registration, tmp_path: Path
) -> None:
    # A broker impostor with a certificate of its own CA (for the right names): a terminal pinning
    # the platform's CA does not talk to it; one pinning the impostor's CA would.
    other_ca = tls_files_ensure(tmp_path / "other").ca.read_text()
    code = terminal.terminal.code

    async def attempt(ca: str, **kwargs: Any) -> None:
        client = tls_client(code, tls_broker_port(), username=code, password=terminal.password, ca=ca, **kwargs)
        await client.connect()
        await client.disconnect()

    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(attempt(other_ca))
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        asyncio.run(attempt(ca_pem(), server_hostname="broker.elsewhere.example"))
    asyncio.run(attempt(ca_pem()))


def _negotiated(port: int, context: ssl.SSLContext) -> tuple[str | None, str]:
    """(TLS version, cipher suite) the broker's terminal listener agrees with a client of `context`."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=3)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        cipher = tls.cipher()
        assert cipher is not None
        return tls.version(), cipher[0]


def test_the_tls_listener_prefers_tls13_with_aes_128_gcm(tls_broker: Broker) -> None:
    # The broker encrypts every terminal's copy of an alert itself: its cheapest suite on this
    # hardware first, although the terminal's own context (stdlib, OpenSSL's order) offers
    # AES-256-GCM first; the server's order wins. docs/benchmarks.md, TLS fan-out.
    assert "ciphers_tls1.3 " + TLS13_CIPHERSUITES in broker_config_write().read_text()
    assert TLS13_CIPHERSUITES.startswith("TLS_AES_128_GCM_SHA256:")
    context = client_context(ca_pem())
    assert context.get_ciphers()[0]["name"] == "TLS_AES_256_GCM_SHA384"  # what the client prefers
    assert _negotiated(tls_broker_port(), context) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    # A terminal that has only TLS 1.2 still gets in (the listener's minimum, an AEAD suite).
    old = client_context(ca_pem())
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    version, suite = _negotiated(tls_broker_port(), old)
    assert version == "TLSv1.2"
    assert "GCM" in suite or "CHACHA20" in suite


def test_agent_config_refuses_a_broker_ca_that_is_not_a_certificate(tmp_path: Path) -> None:
    document = {"terminal_id": "t1", "village_code": "522632101201", "cache_dir": "c", "trust": []}
    with pytest.raises(ValueError, match="broker_ca"):
        AgentConfig.from_dict({**document, "broker_ca": "not a certificate"}, base=tmp_path)


async def _takeover(port: int, victim: Registration, thief: Registration, *, ca: str | None) -> tuple[bool, bool]:
    """Victim connected under its id; the thief logs in with its own account and the victim's id.
    Returns (victim still connected, thief connected)."""
    victim_code, thief_code = victim.terminal.code, thief.terminal.code

    def make(code: str, password: str, client_id: str) -> Client:
        if ca is not None:
            return tls_client(client_id, port, username=code, password=password, ca=ca, clean_session=False)
        return Client(client_id, "127.0.0.1", port, username=code, password=password, clean_session=False)

    victim_client = make(victim_code, victim.password, victim_code)
    await victim_client.connect()
    thief_client = make(thief_code, thief.password, victim_code)
    await thief_client.connect()
    await asyncio.sleep(0.5)  # mosquitto closes a taken-over connection at once; give it time to arrive
    result = (victim_client.is_connected, thief_client.is_connected)
    await thief_client.disconnect()
    await victim_client.disconnect()
    return result


def test_a_terminal_cannot_knock_another_off_over_tls(
    tls_broker: Broker, terminal: Registration, other_terminal: Registration
) -> None:
    # The thief's session is opened under its own id (its user name), so the victim keeps its link.
    assert asyncio.run(_takeover(tls_broker_port(), terminal, other_terminal, ca=ca_pem())) == (True, True)


def test_a_terminal_cannot_knock_another_off_on_the_plain_listener_an_operator_opted_in_to(
    settings: Any, tls_settings: dict[str, Any], terminal: Registration, other_terminal: Registration
) -> None:
    plain_port = free_port()
    settings.RURALCAST_MQTT = {**tls_settings, "PLAIN_PORT": plain_port}
    server = Broker(settings.RURALCAST_MQTT["PORT"])
    server.start()
    try:
        server.sync()
        assert asyncio.run(_takeover(plain_port, terminal, other_terminal, ca=None)) == (True, True)
    finally:
        server.stop()


def test_without_the_binding_the_same_login_would_knock_the_terminal_off(
    tls_broker: Broker, terminal: Registration, other_terminal: Registration
) -> None:
    # What the binding prevents, shown on the platform's own loopback listener (no binding there):
    # mosquitto closes the older connection of a client id. The test above fails the same way
    # without `use_username_as_clientid` on the terminal listeners.
    assert asyncio.run(_takeover(tls_broker.port, terminal, other_terminal, ca=None)) == (False, True)


def test_two_platform_processes_share_the_platform_account_without_knocking_each_other_off(
    tls_broker: Broker, listen: Any
) -> None:
    # The dispatcher, a dispatch-once and the ingest worker: one account, their own client ids.
    first, inbox = listen(["rc/v1/test/#"], client_id=platform_client_id("dispatcher"))
    second, _ = listen([], client_id=platform_client_id("ingest"))
    assert wait_for(lambda: first.connected and second.connected)
    second.publish_all([Publication("rc/v1/test/ping", b"x")])
    assert inbox.wait(1)
    assert first.connected and second.connected
    assert first.connects == 1 and second.connects == 1


def test_the_simulators_terminals_connect_over_tls_with_the_pinned_ca(
    tls_broker: Broker, terminal: Registration, other_terminal: Registration
) -> None:
    specs = [
        TerminalSpec(r.terminal.code, r.terminal.village_id, username=r.terminal.code, password=r.password)
        for r in (terminal, other_terminal)
    ]

    async def run() -> int:
        fleet = Fleet(specs, host="127.0.0.1", port=tls_broker_port(), trust=TrustList(), ca_pem=ca_pem())
        fleet.start()
        for _ in range(100):
            if fleet.connected == len(specs):
                break
            await asyncio.sleep(0.05)
        connected = fleet.connected
        for vt in fleet.terminals:
            await vt.client.disconnect()
        return connected

    assert asyncio.run(run()) == 2


def test_the_demo_simulator_connects_over_tls_when_the_broker_has_a_tls_listener(
    settings: Any, tls_settings: dict[str, Any]
) -> None:
    from ruralcast.terminals.management.commands.demo_simulator import Command

    broker_argument, address, ca_flag, ca_path = Command()._broker()
    assert (broker_argument, address, ca_flag) == ("--broker", f"127.0.0.1:{tls_settings['TLS_PORT']}", "--ca")
    assert Path(ca_path).read_text() == ca_pem()
    settings.RURALCAST_MQTT = {**tls_settings, "TLS_PORT": 0}
    assert Command()._broker() == ["--broker", f"127.0.0.1:{tls_settings['PORT']}"]
