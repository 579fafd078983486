"""t.js's opt-in features in real headless Chromium against `tally up`, one test each: outbound
links, file downloads, 404 pages, tagged elements, hash routing, engagement on page leave.
Each feature's page has its own site, and what Tally counts for that site is what the page did.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import HOSTS, Site, chromium, console_errors, site_server
from tests.support.tally_up import Running, tally_up
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
# The page cancels navigation after t.js has seen the click, so one page load covers a test.
STAY = "<script>document.addEventListener('click', function (e) { if (e.target.closest('a')) e.preventDefault(); });"
STAY += "document.addEventListener('submit', function (e) { e.preventDefault(); });</script>"


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with tally_up(tmp_path_factory.mktemp("tjs")) as running:
        yield running


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with site_server() as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def snippet(tally: Running, site_id: str, **features: str) -> str:
    created = tally.add_site(site_id)
    attributes = " ".join(f'data-{name.replace("_", "-")}="{value}"' for name, value in features.items())
    return f'<script defer src="{tally.api}/t.js" data-key="{created.site.write_key}" {attributes}></script>'


def page(body: str, script: str) -> str:
    return f'<!doctype html><title>t</title><link rel="icon" href="data:,">{STAY}<body>{body}{script}</body>'


def loaded(browser: Any) -> None:
    wait_for(lambda: browser.execute_script("return typeof window.tally === 'function'"), 15, "t.js to load")


def click(browser: Any, selector: str, button: int = 0) -> None:
    kind = "auxclick" if button else "click"
    browser.execute_script(
        "document.querySelector(arguments[0]).dispatchEvent(new MouseEvent(arguments[1], "
        "{bubbles: true, cancelable: true, button: arguments[2]}));", selector, kind, button,
    )  # fmt: skip


def test_outbound_links(tally: Running, site: Site, browser: Any) -> None:
    other = site.url("/landing?ref=x", HOSTS[1])
    site.pages["/links"] = page(f'<a id="out" href="{other}">away</a><a id="in" href="/about">about</a>',
                                snippet(tally, "outbound", outbound="true"))  # fmt: skip
    browser.get(site.url("/links"))
    loaded(browser)
    click(browser, "#out")
    click(browser, "#in")  # same site: no event
    click(browser, "#out", button=1)  # a middle click opens a tab: counted too
    events = tally.wait_stored("outbound", 3)
    assert tally.counts("outbound").names == {"pageview": 1, "outbound_link": 2}
    outbound = [e for e in events if e["name"] == "outbound_link"]
    assert {e["properties"]["url"] for e in outbound} == {other}
    assert console_errors(browser) == []


def test_file_downloads(tally: Running, site: Site, browser: Any) -> None:
    links = '<a id="pdf" href="/files/report.pdf">pdf</a><a id="csv" href="/files/data.csv?v=2">csv</a>'
    links += '<a id="page" href="/files/page.html">page</a>'
    site.pages["/downloads"] = page(links, snippet(tally, "downloads", downloads="pdf,csv"))
    browser.get(site.url("/downloads"))
    loaded(browser)
    for link in ("#pdf", "#csv", "#page"):
        click(browser, link)
    events = tally.wait_stored("downloads", 3)
    assert tally.counts("downloads").names == {"pageview": 1, "file_download": 2}
    urls = {e["properties"]["url"] for e in events if e["name"] == "file_download"}
    assert urls == {site.url("/files/report.pdf"), site.url("/files/data.csv")}  # the query is never sent


def test_404_pages(tally: Running, site: Site, browser: Any) -> None:
    site.not_found = page("<h1>Not found</h1>", snippet(tally, "missing", **{"404": "true"}))
    try:
        browser.get(site.url("/no/such/page"))
        events = tally.wait_stored("missing", 2)
    finally:
        site.not_found = None
    assert tally.counts("missing").names == {"pageview": 1, "404": 1}
    (missing,) = [e for e in events if e["name"] == "404"]
    assert missing["properties"] == {"path": "/no/such/page"}


def test_tagged_elements(tally: Running, site: Site, browser: Any) -> None:
    body = ('<button id="buy" data-tally-event="signup" data-tally-prop-plan="pro"><span id="inner">Buy</span></button>'
            '<form id="contact" data-tally-event="contact" data-tally-prop-topic="sales">'
            '<button id="send" type="submit">Send</button></form><button id="plain">plain</button>')  # fmt: skip
    site.pages["/tagged"] = page(body, snippet(tally, "tagged", tagged="true"))
    browser.get(site.url("/tagged"))
    loaded(browser)
    click(browser, "#inner")  # a click inside the tagged element counts for it
    click(browser, "#plain")
    browser.find_element("css selector", "#send").click()  # a real submit: the form's event, once
    events = tally.wait_stored("tagged", 3)
    assert tally.counts("tagged").names == {"pageview": 1, "signup": 1, "contact": 1}
    by_name = {e["name"]: e["properties"] for e in events}
    assert by_name["signup"] == {"plan": "pro"} and by_name["contact"] == {"topic": "sales"}


def test_hash_routing(tally: Running, site: Site, browser: Any) -> None:
    site.pages["/app"] = page("<p>app</p>", snippet(tally, "hashed", hash="true"))
    site.pages["/plain"] = page("<p>plain</p>", snippet(tally, "unhashed"))
    browser.get(site.url("/app#/home"))
    loaded(browser)
    browser.execute_script("location.hash = '#/pricing';")
    wait_for(lambda: len(tally.stored("hashed")) >= 2, 30, "the hash route's pageview")
    browser.get(site.url("/plain#/ignored"))
    loaded(browser)
    tally.wait_stored("hashed", 2)
    tally.wait_stored("unhashed", 1)
    assert tally.counts("hashed").pages == {"/app#/home": 1, "/app#/pricing": 1}
    assert tally.counts("unhashed").pages == {"/plain": 1}  # without data-hash no fragment is sent


def test_engagement_on_page_leave(tally: Running, site: Site, browser: Any) -> None:
    tall = "<div style='height: 4000px'>long read</div><p id='end'>end</p>"
    site.pages["/article"] = page(tall, snippet(tally, "engaged", engagement="true"))
    site.pages["/next"] = page("<p>next</p>", "")
    browser.get(site.url("/article"))
    loaded(browser)
    browser.execute_script("window.focus(); window.scrollTo(0, document.body.scrollHeight);")
    time.sleep(1.2)
    browser.get(site.url("/next"))  # page leave: pagehide sends the beacon
    events = tally.wait_stored("engaged", 2)
    assert tally.counts("engaged").names == {"pageview": 1, "engagement": 1}
    (engaged,) = [e for e in events if e["name"] == "engagement"]
    assert engaged["path"] == "/article" and engaged["properties"]["scroll_depth"] == 100
    assert 1000 <= engaged["properties"]["engagement_ms"] < 60_000
