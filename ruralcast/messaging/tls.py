"""The broker's TLS: the platform's own certificate authority and the broker's certificate.

`broker_run` (`broker.broker_config_write`) calls `tls_files_ensure()`: on first use it creates, in
RUN_DIR/broker,

- `ca.pem` / `ca.key`: a self-signed CA (EC P-256, 20 years) that signs nothing but the broker's
  certificate. Its PEM goes into every provisioning file (`broker_ca`); terminals trust it and
  nothing else (CA pinning, `ruralcast_terminal.tls`);
- `server.pem` / `server.key`: the broker's certificate (EC P-256, 2 years) for the names terminals
  reach it by: the host of RURALCAST_MQTT["PUBLIC_ADDRESS"], RURALCAST_MQTT["TLS_NAMES"] (comma
  separated), `localhost` and 127.0.0.1. A new one is issued, by the same CA, when the names change
  or it has less than 30 days left; terminals keep working since they pin the CA, not the certificate.

Keys are mode 0600. EC keys keep the handshake cheap for a broker that accepts thousands of terminals
after an outage (an ECDSA P-256 signature costs a fraction of an RSA-2048 one).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server.key"
CA_DAYS = 20 * 365
SERVER_DAYS = 2 * 365
RENEW_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def tls_names() -> list[str]:
    """The names (host names or IP addresses) the broker's certificate carries."""
    config = settings.RURALCAST_MQTT
    names: list[str] = []
    public = config.get("PUBLIC_ADDRESS") or ""
    if public:
        host = public.rpartition(":")[0] or public
        names.append(host.strip("[]"))
    names += [name.strip() for name in str(config.get("TLS_NAMES") or "").split(",") if name.strip()]
    names += [config["HOST"], "localhost", "127.0.0.1"]
    return list(dict.fromkeys(name for name in names if name and name != "0.0.0.0"))  # noqa: S104 — a name to skip


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca_ensure(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ruralcast broker CA")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    ca_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not an EC key")
    return x509.load_pem_x509_certificate(cert_path.read_bytes()), ca_key


def _server_current(path: Path, names: list[str], ca: x509.Certificate) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject:
        return False
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if left < datetime.timedelta(days=RENEW_DAYS):
        return False
    with contextlib.suppress(x509.ExtensionNotFound):
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return set(sans) == {_general_name(name) for name in names}
    return False


def tls_files_ensure(directory: Path) -> TlsFiles:
    """The CA and the broker's certificate and key in `directory`, created or renewed as needed."""
    directory.mkdir(parents=True, exist_ok=True)
    # Two processes (broker_run, a web worker issuing a provisioning file) must not make two CAs.
    with open(directory / ".tls.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _files_ensure(directory)


def _files_ensure(directory: Path) -> TlsFiles:
    ca, ca_key = _ca_ensure(directory)
    names = tls_names()
    cert_path, key_path = directory / SERVER_CERT_FILE, directory / SERVER_KEY_FILE
    if not (_server_current(cert_path, names, ca) and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(ca=directory / CA_CERT_FILE, cert=cert_path, key=key_path)


def broker_ca_pem(directory: Path) -> str:
    """The CA's certificate (PEM) that provisioning files carry; created if the broker never ran here."""
    return tls_files_ensure(directory).ca.read_text("ascii")
