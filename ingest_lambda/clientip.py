"""Which address sent the request.

API Gateway's ``sourceIp`` is the peer it saw. ``X-Forwarded-For`` is believed only as far
as the hops are configured trusted proxies: walk the chain from the right and stop at the
first address that is not one of them (anything left of it was written by the client).
"""

import ipaddress

from .settings import Network


def client_ip(source_ip: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    source = _address(source_ip)
    if source is None or not trusted or not forwarded_for:
        return str(source) if source is not None else None
    current = source
    for hop in reversed(forwarded_for.split(",")[:32]):
        if not _is_trusted(current, trusted):
            break
        address = _address(hop)
        if address is None:
            break
        current = address
    return str(current)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)
