"""Which address sent the request (the ingest's stored IP, the dashboard's login backoff key).

API Gateway's ``sourceIp`` is the peer it saw. ``X-Forwarded-For`` is believed only as far
as the hops are configured trusted proxies: each proxy appends the address it received from,
so walk the chain from the right and stop at the first address that is not a trusted proxy.
Anything left of it was written by the client, whatever it says, and is never read: only the
rightmost ``MAX_HOPS`` entries are looked at, however long the header.
"""

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 32  # trusted proxies in a row; more is a misconfiguration


def parse_networks(text: str) -> tuple[Network, ...]:
    """``TALLY_TRUSTED_PROXIES``: comma-separated CIDRs."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def client_ip(source_ip: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    source = _address(source_ip)
    if source is None or not trusted or not forwarded_for:
        return str(source) if source is not None else None
    current = source
    for hop in reversed(forwarded_for.rsplit(",", MAX_HOPS)[-MAX_HOPS:]):
        if not _is_trusted(current, trusted):
            break
        address = _address(hop)
        if address is None:  # a trusted proxy wrote something unreadable: believe no further
            break
        current = address
    return str(current)


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port (some proxies append the port)
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)
