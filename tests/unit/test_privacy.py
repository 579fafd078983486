"""What a site keeps (tally_contract/privacy.py), and ingest applying it before queueing: the
query allowlist, the IP handling (idempotent, so the processor may apply it again), visitor
ids from the whole address or from the user, and Do Not Track drops."""

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally_contract.privacy import (
    DEFAULT_QUERY_PARAMS,
    apply_ip_handling,
    keep_query,
    parse_ip,
    user_visitor_id,
    visitor_id,
)
from tests.support.ingest_harness import make_ingest

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://a.example/p", "https://a.example/p"),
        ("https://a.example/p?utm_source=x&token=t&UTM_Medium=m", "https://a.example/p?utm_source=x&UTM_Medium=m"),
        ("https://a.example/p?token=t", "https://a.example/p"),
        ("https://user:pw@a.example/p?gclid=1", "https://a.example/p?gclid=1"),
        ("https://a.example/p#access_token=x", "https://a.example/p"),
        ("https://a.example/p#section", "https://a.example/p"),
        ("https://a.example/app#/pricing?utm_term=t&q=x", "https://a.example/app#/pricing?utm_term=t"),
        ("https://a.example/app#!/pricing", "https://a.example/app#!/pricing"),
        ("https://a.example/?ref=hn&&source=x&", "https://a.example/?ref=hn&source=x"),
        ("https://a.example/?utm%5Fsource=x", "https://a.example/?utm%5Fsource=x"),
    ],
)
def test_keep_query(url: str, kept: str) -> None:
    assert keep_query(url, DEFAULT_QUERY_PARAMS) == kept


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80), st.lists(st.sampled_from(["ref", "q", "a"])))
def test_keep_query_is_idempotent_and_never_grows(tail: str, allowed: list[str]) -> None:
    url = "https://a.example/" + tail
    once = keep_query(url, allowed)
    assert keep_query(once, allowed) == once and len(once) <= len(url)


@given(st.ip_addresses(), st.sampled_from(["keep", "truncate", "drop", "bogus"]))
def test_ip_handling_is_idempotent(address: Any, handling: str) -> None:
    once = apply_ip_handling(parse_ip(str(address)), handling)
    assert apply_ip_handling(parse_ip(once), handling) == once
    if handling in ("drop", "bogus"):
        assert once is None


def test_ingest_queues_the_reduced_event_with_a_visitor_id_from_the_whole_address() -> None:
    ingest = make_ingest(ip_handling="drop")
    url = "https://shop.example.com/p?utm_campaign=c&session=abc#token"
    response = ingest.post({"url": url, "referrer": "https://search.example/?q=me"}, headers={"User-Agent": UA})
    assert response.status == 202
    (event,) = ingest.events()
    assert event["ip"] is None and event["url"] == "https://shop.example.com/p?utm_campaign=c"
    assert event["referrer"] == "https://search.example/"
    salt = ingest.salt(event["event_time"][:10])
    assert event["visitor_id"] == visitor_id("shop", ipaddress.ip_address("203.0.113.9"), UA, salt)


def test_the_country_is_taken_at_ingest_before_the_ip_is_dropped() -> None:
    """From the edge's header for the sender's own events, else from the whole address (an
    offline lookup), so a site that keeps no IP still has countries; the header never
    describes a server's relayed visitor, whose own IP is looked up instead."""
    ingest = make_ingest(ip_handling="drop")
    assert ingest.post({"url": "https://shop.example.com/"}, source_ip="81.2.69.160").status == 202
    assert ingest.post({"url": "https://shop.example.com/"}, headers={"CloudFront-Viewer-Country": "fr"}).status == 202
    relayed = {"url": "https://shop.example.com/", "ip": "81.2.69.160", "user_agent": UA}
    headers = {"CloudFront-Viewer-Country": "US", "Authorization": f"Bearer {ingest.secret}", "Origin": None}
    assert ingest.post(relayed, headers=headers).status == 202
    looked_up, from_edge, from_relayed_ip = ingest.events()
    assert (looked_up["country"], from_edge["country"], from_relayed_ip["country"]) == ("GB", "FR", "GB")
    assert looked_up["ip"] is None and from_relayed_ip["ip"] is None


def test_a_site_may_list_its_own_query_parameters() -> None:
    ingest = make_ingest(query_params=("page", "lang"))
    assert ingest.post({"url": "https://shop.example.com/?page=2&utm_source=x&lang=de"}).status == 202
    assert ingest.events()[0]["url"] == "https://shop.example.com/?page=2&lang=de"


def test_visitors_by_user_is_a_site_choice_and_device_the_default() -> None:
    by_device, by_user = make_ingest(), make_ingest(visitors="user")
    for ingest in (by_device, by_user):
        ingest.activate()
        for ip in ("198.51.100.1", "198.51.100.2"):  # one user on two devices
            event = {"url": "https://shop.example.com/", "user_id": "u-1", "ip": ip, "user_agent": UA}
            server = {"Authorization": f"Bearer {ingest.secret}", "Origin": None}
            assert ingest.post(event, headers=server).status == 202
    assert len({e["visitor_id"] for e in by_device.events()}) == 2
    assert {e["visitor_id"] for e in by_user.events()} == {
        user_visitor_id("shop", "u-1", by_user.salt(by_user.events()[0]["event_time"][:10]))
    }
    assert all(e["user_id"] == "u-1" for e in by_device.events() + by_user.events())


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_drops_the_request_for_a_site_that_respects_it(header: dict[str, str], capsys: Any) -> None:
    ingest = make_ingest(respect_dnt=True)
    response = ingest.post({"batch": [{"url": "https://shop.example.com/"}] * 3}, headers=header)
    assert (response.status, response.body, response.headers["tally-dropped"]) == (204, b"", "do-not-track")
    assert ingest.events() == []
    assert '"EventsDroppedDoNotTrack":[3.0]' in capsys.readouterr().out
    pixel = ingest.request("GET", "/i.gif", headers={**header, "Accept": "*/*"},
                           query={"key": ingest.site.write_key, "url": "https://shop.example.com/"})  # fmt: skip
    assert pixel.status == 200 and pixel.body.startswith(b"GIF89a") and ingest.events() == []


def test_do_not_track_is_ignored_by_a_site_that_does_not_respect_it() -> None:
    ingest = make_ingest()
    assert ingest.post({"url": "https://shop.example.com/"}, headers={"DNT": "1"}).status == 202
    assert ingest.post({"url": "https://shop.example.com/"}, headers={"DNT": "0"}).status == 202
    assert len(ingest.events()) == 2


def test_local_mode_ingest_keeps_its_salts_in_the_store_file(tmp_path: Path) -> None:
    """Local mode's ingest and processor share one SQLite file: the day's salt the processor
    would use is the one ingest used, and it survives a restart of `tally up`."""
    from ingest_lambda import runtime as ingest_runtime
    from ingest_lambda.settings import Settings
    from tally_store.sqlite import SQLiteStore

    url = f"sqlite://{tmp_path / 'tally.db'}"
    first = ingest_runtime._salts(Settings(store_url=url)).for_day("2026-12-01", 1_764_547_200.0)
    again = ingest_runtime._salts(Settings(store_url=url)).for_day("2026-12-01", 1_764_547_200.0)
    store = SQLiteStore.from_url(url)
    assert first == again == store.daily_salt("2026-12-01", b"other", 0.0)


def test_a_long_lived_process_forgets_salts_the_store_has_expired() -> None:
    from tally_store.salts import KEEP_SECONDS, DailySalts, MemorySalts

    salts = DailySalts(MemorySalts())
    day_one = 1_796_083_200.0  # 2026-12-01T00:00Z
    salts.for_day("2026-12-01", day_one)
    salts.for_day("2026-12-02", day_one + 86400)
    assert set(salts._cache) == {"2026-12-01", "2026-12-02"}
    salts.for_day("2026-12-04", day_one + 3 * 86400 + 1)
    assert set(salts._cache) == {"2026-12-02", "2026-12-04"}
    assert KEEP_SECONDS == 2 * 86400
