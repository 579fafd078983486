"""Issue 18, client-IP spoofing: behind trusted proxies the client is the rightmost
``X-Forwarded-For`` address that is not a trusted proxy, whatever the client wrote to its left,
however many entries it forged (property tests over chains of every length)."""

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest_lambda import runtime
from ingest_lambda.settings import Settings
from tally_contract.clientip import MAX_HOPS, client_ip, parse_networks
from tally_contract.privacy import visitor_id
from tests.support.ingest_harness import Ingest

TRUSTED = parse_networks("10.0.0.0/8, 2001:db8:ffff::/48")
CLIENT = "198.51.100.23"
EVENT = {"url": "https://shop.example.com/"}

proxies = st.one_of(
    st.ip_addresses(network="10.0.0.0/8").map(str),
    st.ip_addresses(network="2001:db8:ffff::/48").map(str),
)
clients = st.one_of(
    st.ip_addresses(network="198.51.100.0/24").map(str),
    st.ip_addresses(network="2001:db8:1::/48").map(str),
)
# What a client may write: addresses (of trusted proxies too), junk, ports, empty entries.
forged_entries = st.one_of(
    st.ip_addresses().map(str), proxies, st.text(max_size=12).filter(lambda t: "," not in t),
    st.sampled_from(["unknown", "", " ", "[::1]:80", "1.2.3.4:8080", "_hidden", "::ffff:10.0.0.1"]),
)  # fmt: skip


def header(entries: list[str]) -> str:
    return ", ".join(entries)


def forged_chains(length: int) -> Any:
    return st.lists(forged_entries, min_size=length, max_size=length)


@settings(max_examples=500, deadline=None)
@given(data=st.data(), length=st.integers(0, 4 * MAX_HOPS), client=clients,
       hops=st.lists(proxies, max_size=MAX_HOPS - 1), edge=proxies)  # fmt: skip
def test_the_client_is_the_rightmost_untrusted_address_whatever_was_forged(
    data: Any, length: int, client: str, hops: list[str], edge: str
) -> None:
    """client -> hops... -> edge (the proxy API Gateway saw). Each proxy appended the address
    it received from: the header is forged..., client, hops..., and sourceIp is edge."""
    chain = [*data.draw(forged_chains(length)), client, *hops]
    assert client_ip(edge, header(chain), TRUSTED) == str(ipaddress.ip_address(client))


@settings(max_examples=20, deadline=None)
@given(attacker=st.ip_addresses(network="203.0.113.0/24").map(str), client=clients, edge=proxies)
def test_every_length_of_forged_chain(attacker: str, client: str, edge: str) -> None:
    for length in range(4 * MAX_HOPS + 1):
        chain = [attacker] * length + [client, "10.0.0.9"]
        assert client_ip(edge, header(chain), TRUSTED) == str(ipaddress.ip_address(client)), length


@settings(max_examples=200, deadline=None)
@given(forged=st.lists(forged_entries, max_size=80), source=clients)
def test_an_untrusted_peer_is_the_client_and_its_header_is_ignored(forged: list[str], source: str) -> None:
    assert client_ip(source, header(forged), TRUSTED) == str(ipaddress.ip_address(source))
    assert client_ip(source, header(forged), ()) == str(ipaddress.ip_address(source))


@given(forged=st.lists(forged_entries, max_size=40), edge=proxies)
def test_no_trusted_proxy_configured_means_the_header_is_never_read(forged: list[str], edge: str) -> None:
    assert client_ip(edge, header([*forged, CLIENT]), ()) == edge


def test_thirty_two_forged_entries_before_the_real_one() -> None:
    """The audit's chain: the leftmost 32 entries were walked, so the attacker chose the IP."""
    forged = [f"203.0.113.{i}" for i in range(32)]
    assert client_ip("10.0.0.1", header([*forged, CLIENT]), TRUSTED) == CLIENT
    assert client_ip("10.0.0.1", header([*forged, CLIENT, "10.0.0.7", "10.1.2.3"]), TRUSTED) == CLIENT
    # A megabyte of forged entries costs the same bounded walk.
    assert client_ip("10.0.0.1", header(["203.0.113.1"] * 100_000 + [CLIENT]), TRUSTED) == CLIENT


def test_only_trusted_hops_all_the_way_is_the_leftmost_one_walked() -> None:
    assert client_ip("10.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED) == "10.0.0.3"
    assert client_ip("10.0.0.1", header(["10.9.9.9"] * (MAX_HOPS + 5)), TRUSTED) == "10.9.9.9"


def test_ports_and_brackets_from_proxies_are_read() -> None:
    assert client_ip("10.0.0.1", "198.51.100.23:51234", TRUSTED) == CLIENT
    assert client_ip("10.0.0.1", "[2001:db8:1::5]:443", TRUSTED) == "2001:db8:1::5"
    assert client_ip("10.0.0.1", "junk", TRUSTED) == "10.0.0.1"  # unreadable: the proxy itself


def test_the_ingest_stores_the_real_client_behind_a_trusted_proxy(ingest: Ingest) -> None:
    ingest.activate(Settings(trusted_proxies=TRUSTED))
    assert runtime.get().settings.trusted_proxies == TRUSTED
    forged = header([f"203.0.113.{i}" for i in range(32)] + [CLIENT])
    response: Any = ingest.post(EVENT, headers={"X-Forwarded-For": forged}, source_ip="10.0.0.1")
    assert response.status == 202, response.body
    # Queued as the site keeps it (truncated); the visitor id is the whole client address's.
    (queued,) = ingest.events()
    assert queued["ip"] == "198.51.100.0"
    salt = ingest.salt(queued["event_time"][:10])
    assert queued["visitor_id"] == visitor_id("shop", ipaddress.ip_address(CLIENT), queued["user_agent"], salt)
