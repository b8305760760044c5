"""Per-device broker credentials in mosquitto's own password-file format.

mosquitto 2.0 stores `username:$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512 hash>`;
computing the same hash here lets the platform write the broker's password file from the database
without ever storing a terminal's password (it is shown once, in the provisioning file).
"""

import base64
import hashlib
import hmac
import secrets

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


def new_device_password() -> str:
    """A long random password for a device (never typed by a person)."""
    return secrets.token_urlsafe(24)
