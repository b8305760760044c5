"""TLS to the broker with CA pinning (stdlib `ssl`): a terminal trusts the platform's own CA only.

The provisioning file carries the PEM of the CA that signed the broker's certificate
(`broker_ca`); the agent, the provisioning check and the simulator build their context from it with
`client_context`. Nothing else is trusted: not the system's CA store (a certificate any public CA
issued for the broker's name does not pass), no unverified mode. The broker's name (`broker_host`,
or `broker_server_name` when terminals reach the broker by an address the certificate does not
name) must be in the certificate (host name check on). docs/protocols.md §2.
"""

from __future__ import annotations

import ssl

__all__ = ["client_context"]


def client_context(ca_pem: str) -> ssl.SSLContext:
    """A client context that trusts `ca_pem` (one or more PEM certificates) and nothing else.

    Raises ValueError when the text holds no certificate.
    """
    if "-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise ValueError("broker_ca is not a PEM certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cadata=ca_pem)
    except ssl.SSLError as exc:
        raise ValueError(f"broker_ca cannot be read: {exc}") from None
    return context
