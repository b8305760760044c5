"""Broker credentials: mosquitto's password format, and the door through which apps name the devices
the broker lets in.

mosquitto 2.0 stores `username:$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512 hash>`;
computing the same hash here lets the platform write the broker's password file from the database
without ever storing a device's password (it is shown once, in the device's provisioning file).

Messaging writes the password and ACL files but owns no devices. The app that registers devices
(terminals) provides their accounts through `register_credentials_provider` in its
`AppConfig.ready()`, so messaging never imports it:

    register_credentials_provider("terminals", terminal_broker_accounts)

    def terminal_broker_accounts() -> Iterable[BrokerAccount]:
        # every active device that has a password, in a stable order
        ...

`broker_accounts()` chains every provider (by name, each in its own order). This module imports no
models, so it is safe to import from anywhere at any time.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

MOSQUITTO_ITERATIONS = 101
_SALT_BYTES = 12


def mosquitto_password_hash(password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_password_check(password: str, encoded: str) -> bool:
    try:
        _empty, kind, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    expected = mosquitto_password_hash(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return hmac.compare_digest(expected.split("$")[-1], digest)


@dataclass(frozen=True)
class BrokerAccount:
    """One device the broker lets in.

    `username` is the device's MQTT user name and topic id (a terminal's 23-digit resource code);
    `password_hash` is in mosquitto's `$7$` format (`mosquitto_password_hash`); the device reads the
    region topics of `region_code` and of its ancestors (docs/protocols.md §2).
    """

    username: str
    password_hash: str
    region_code: str


CredentialsProvider = Callable[[], Iterable[BrokerAccount]]

_PROVIDERS: dict[str, CredentialsProvider] = {}


def register_credentials_provider(name: str, provide: CredentialsProvider) -> None:
    """Say where the broker's device accounts of `name` come from.

    `provide()` is called each time the files are written (`broker_files_write`: on `broker_run` and
    after every registration or revocation) and returns the accounts that may connect now, revoked
    ones left out and without empty passwords, in a stable order (so unchanged files stay unchanged).
    Read them in chunks (`.iterator()`): a province has tens of thousands. Registering a name again
    replaces its provider.
    """
    _PROVIDERS[name] = provide


def unregister_credentials_provider(name: str) -> None:
    """Withdraw a provider (tests; an app switched off)."""
    _PROVIDERS.pop(name, None)


def broker_accounts() -> Iterator[BrokerAccount]:
    """Every provider's accounts, providers in the order of their names."""
    for name in sorted(_PROVIDERS):
        yield from _PROVIDERS[name]()
