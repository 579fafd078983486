"""Other products' browser trackers, from npm and unmodified, in headless Chromium on a page of a
site Tally never saw, pointed at `tally up`: posthog-js (its configuration calls answered "no
flags, no recording", its gzip batches to /i/v0/e/, its page-leave beacon) and Plausible's
own tracker (POST /api/event, the site found by its domain). The page records what each sends
(posthog-js's documented ``before_send`` hook; for Plausible's, the page's own fetch, which it
calls for every event, its engagement beacon included) in sessionStorage, so the record
outlives the page (the page-leave sends happen as it unloads); Tally must count exactly that."""

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import HOSTS, Site, chromium, console_errors, site_server
from tests.support.local_up import tally as tally_cli
from tests.support.tally_up import Running, tally_up
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
HEAD = '<!doctype html><title>Shop</title><link rel="icon" href="data:,">'
# What a tracker's hook calls with each thing it sends: kept across pages of the same origin.
RECORD = ("<script>function record(what) { var all = JSON.parse(sessionStorage.sent || '[]'); all.push(what);"
          " sessionStorage.sent = JSON.stringify(all); }</script>")  # fmt: skip
POSTHOG_NAMES = {"$pageview": "pageview", "$pageleave": "engagement", "$autocapture": "autocapture",
                 "$identify": "identify"}  # fmt: skip


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with tally_up(tmp_path_factory.mktemp("trackers")) as running:
        yield running


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with site_server() as server:
        yield server


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def sent(browser: Any) -> list[Any]:
    return list(browser.execute_script("return JSON.parse(sessionStorage.sent || '[]');"))


def leave(browser: Any, site: Site) -> None:
    """Navigate to another page of the site: the trackers' page-leave sends go as it unloads."""
    site.pages["/next"] = HEAD + "<p>next</p>"
    browser.get(site.url("/next"))


def test_posthog_js_runs_and_is_counted(tally: Running, site: Site, browser: Any) -> None:
    created = tally.add_site("posthog")
    # opt_out_useragent_filter: posthog-js takes a browser driven by webdriver for a bot otherwise.
    options = {"api_host": tally.api, "capture_pageleave": True, "person_profiles": "identified_only",
               "opt_out_useragent_filter": True}  # fmt: skip
    site.pages["/shop"] = (
        HEAD + RECORD + '<script src="/node_modules/posthog-js/dist/array.full.js"></script>'
        '<button id="buy">Buy now</button><script>'
        f"var options = {json.dumps(options)};"
        "options.before_send = function (e) { record(e.event); return e; };"
        f"posthog.init({json.dumps(created.site.write_key)}, options);</script>"
    )
    browser.get(site.url("/shop?utm_source=newsletter&email=someone@example.com"))
    wait_for(lambda: "$pageview" in sent(browser), 20, "posthog-js to capture the pageview")
    browser.find_element("css selector", "#buy").click()
    browser.execute_script("posthog.capture('purchase', {plan: 'pro', cart: {items: 2}});")
    browser.execute_script("posthog.identify('user-7');")
    wait_for(lambda: "$identify" in sent(browser), 10, "the identify")
    leave(browser, site)
    assert "$pageleave" in sent(browser)
    names = Counter(POSTHOG_NAMES.get(name, name) for name in sent(browser))
    assert names["autocapture"] >= 1 and names["purchase"] == 1, names
    events = tally.wait_stored("posthog", sum(names.values()))
    counts = tally.counts("posthog")
    assert counts.names == dict(names)
    assert counts.pages == {"/shop": 1} and counts.visitors == 1
    assert console_errors(browser) == []
    by_name = {e["name"]: e for e in events}
    assert by_name["pageview"]["url"] == site.url("/shop?utm_source=newsletter")  # email= never queued
    assert by_name["pageview"]["utm_source"] == "newsletter" and by_name["pageview"]["browser"] == "Chrome"
    assert by_name["purchase"]["properties"] == {"plan": "pro", "cart.items": 2}
    assert by_name["autocapture"]["properties"]["tag"] == "button"
    assert by_name["autocapture"]["properties"]["text"] == "Buy now"
    assert by_name["identify"]["user_id"] == "user-7" and by_name["identify"]["anonymous_id"]
    assert by_name["engagement"]["user_id"] == "user-7"


def test_plausible_tracker_is_counted_by_domain(tally: Running, site: Site, browser: Any) -> None:
    added = tally_cli(tally.tmp, "sites", "add", "plausible", "--domain", "www.Shop.example.com", "--origin", "*")
    assert "write key" in added.stdout
    config = {"domain": "shop.example.com", "endpoint": f"{tally.api}/api/event", "outboundLinks": True,
              "fileDownloads": True, "hashBasedRouting": True}  # fmt: skip
    site.pages["/plausible"] = (
        HEAD + RECORD + '<a id="out" href="' + site.url("/", HOSTS[1]) + '">partner</a>'
        '<a id="pdf" href="/files/price-list.pdf">prices</a><div style="height: 3000px"></div>'
        '<script type="module">import { init, track } from "/node_modules/@plausible-analytics/tracker/plausible.js";'
        "window.__plausible = true;"  # the library's own flag: count under webdriver too
        "document.addEventListener('click', function (e) { if (e.target.closest('a')) e.preventDefault(); });"
        f"var config = {json.dumps(config)};"
        "var send = window.fetch; window.fetch = function (url, options) {"
        " if (String(url).indexOf('/api/event') >= 0) { var p = JSON.parse(options.body); record([p.n, p.u]); }"
        " return send.apply(this, arguments); };"
        "init(config); window.track = track;</script>"
    )
    browser.get(site.url("/plausible#/pricing"))
    wait_for(lambda: sent(browser), 20, "Plausible's tracker to send the pageview")
    browser.find_element("css selector", "#out").click()
    browser.find_element("css selector", "#pdf").click()
    browser.execute_script("track('signup', {props: {plan: 'pro'}, revenue: {amount: 15.99, currency: 'USD'}});")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    time.sleep(0.5)
    leave(browser, site)  # the page is hidden as it unloads: the tracker sends its engagement
    assert "engagement" in [name for name, _ in sent(browser)]
    names = Counter(name for name, _ in sent(browser))
    assert names["Outbound Link: Click"] == names["File Download"] == names["signup"] == 1, names
    events = tally.wait_stored("plausible", sum(names.values()))
    counts = tally.counts("plausible")
    assert counts.names == dict(names) and counts.pages == {"/plausible#/pricing": 1}
    assert counts.visitors == 1
    by_name = {e["name"]: e for e in events}
    assert by_name["signup"]["properties"] == {"plan": "pro", "revenue.amount": 15.99, "revenue.currency": "USD"}
    assert by_name["File Download"]["properties"]["url"] == site.url("/files/price-list.pdf")
    assert by_name["engagement"]["properties"]["scroll_depth"] > 50
    assert console_errors(browser) == []
