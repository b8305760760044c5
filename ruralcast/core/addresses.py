"""Who is on the other end: the client's address, read through the proxies the operator trusts.

Behind nginx every request arrives from the proxy's address; the client's own is in
X-Forwarded-For, which anyone can also send straight to the application. So the header is read
only when the socket peer is one of `RURALCAST_TRUSTED_PROXIES` (CIDRs; default none), and then
from the right: each trusted proxy appends the address it saw, so the right-most address that is not
a trusted proxy is the client (everything to its left was written by the client and proves nothing).

The application server must not rewrite the peer address itself: uvicorn runs with
`--no-proxy-headers` (its default trusts X-Forwarded-For from 127.0.0.1), so that this module is
the one place that decides (docs/deploy.md, "Trusted proxies").
"""

from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


@lru_cache(maxsize=8)
def parse_networks(values: tuple[str, ...], *, setting: str = "RURALCAST_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """CIDRs (or single addresses) from a setting; a typo stops the start rather than trusting nothing silently."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ip_network(value, strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(f"{setting}: “{value}” is not an address or CIDR ({error})") from error
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    return parse_networks(tuple(getattr(settings, "RURALCAST_TRUSTED_PROXIES", ())))


def parse_address(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.5:51000"
        value = value.split(":", 1)[0]
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_in(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text ("" when the server gave no peer address)."""
    peer = parse_address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return ""
    proxies = trusted_proxies()
    if not address_in(peer, proxies):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = peer
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = parse_address(hop)
        if address is None:
            # Garbage only ever stands left of what our proxies wrote: stop at the last good hop.
            break
        client = address
        if not address_in(address, proxies):
            break
    return str(client)
