"""The dashboard, Plausible's way, in real Chromium against `tally up` (the default local mode,
its SQLite store): generated visits over the last two weeks in the site's time zone (New York)
sent through the ingest API with the secret key, processed and settled by `tally rollup`; then
every number on the page (the six headline numbers and their change, the chart's data, every
panel, current visitors) must equal the oracle's answer over the stored events, for ranges,
intervals and filters set by clicking. Screenshots: test-artifacts/dashboard-stats*.png."""

import base64
import csv
import dataclasses
import io
import random
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tally_cli.traffic import Sender, Summary, Traffic
from tally_contract.sites import open_sites
from tally_store.sqlite import SQLiteStore
from tests.support.dashboard_browser import ARTIFACTS, browser, loaded, mark, sign_in
from tests.support.dashboard_page import Expected, read
from tests.support.local_up import start_up, tally
from tests.support.waiting import wait_for

__all__ = ["browser", "start_up"]  # fixtures: Chromium (tests/support/dashboard_browser.py), `tally up` (local_up.py)
pytestmark = pytest.mark.slow

ZONE = "America/New_York"
GOALS = ("event:signup", "page:/pricing")
PROP = "plan"
# Public networks geoip2fast places (US, GB, NL, JP, BR, NG): the countries panel has rows.
NETS = ("8.8.8", "81.2.69", "193.0.6", "202.12.27", "200.160.2", "41.203.64")
SESSIONS = 120  # over the two weeks; and a few live ones
Span = tuple[float, float]


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE)).timestamp()


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sessions(rng: random.Random, traffic: Traffic, starts: list[float], now: float) -> list[dict[str, Any]]:
    """A visit per start: one visitor, 1 to 4 events 5 to 400 s apart (bounces and longer visits)."""
    events = []
    visitors = [(f"{rng.choice(NETS)}.{rng.randrange(1, 255)}", agent) for _, agent in traffic.visitors]
    for start in starts:
        ip, agent = rng.choice(visitors)
        at = start
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            events.append({**traffic.event(), "ip": ip, "user_agent": agent, "time": stamp(min(at, now))})
            at += rng.uniform(5, 400)
    return events


def send_traffic(state: dict[str, Any], today: date) -> tuple[Summary, float]:
    """Two weeks of visits, then a few now; returns the summary and when the live ones began."""
    rng, now = random.Random(16), time.time()
    traffic = Traffic(rng, visitors=60)
    first = midnight(today - timedelta(days=13))
    starts = sorted(rng.uniform(first, now - 1800) for _ in range(SESSIONS))
    starts += [rng.uniform(max(first, midnight(today)), now - 1800) for _ in range(8) if now - midnight(today) > 3600]
    sender, summary = Sender(state["api_url"], state["write_key"], state["secret_key"]), Summary()
    events = sessions(rng, traffic, starts, now)
    for at in range(0, len(events), 50):
        sender.send(events[at : at + 50], summary, traffic.is_bot)
    live_from = time.time()
    live = [{**traffic.event(), "time": stamp(time.time())} for _ in range(6)]
    sender.send([{**e, "ip": f"192.0.2.{200 + i}"} for i, e in enumerate(live)], summary, traffic.is_bot)
    assert summary.rejected_total == 0 and summary.accepted == len(events) + len(live), summary
    return summary, live_from


def range_of(period: str, today: date, custom: tuple[date, date] | None = None) -> Span:
    if period == "day":
        return midnight(today), midnight(today + timedelta(days=1))
    if period == "7d":
        return midnight(today - timedelta(days=6)), midnight(today + timedelta(days=1))
    if period == "30d":
        return midnight(today - timedelta(days=29)), midnight(today + timedelta(days=1))
    if period == "12mo":  # whole calendar months: the 11 before this one, and this one
        first = date(today.year - (today.month <= 11), (today.month - 12) % 12 + 1, 1)
        return midnight(first), midnight(date(today.year + (today.month == 12), today.month % 12 + 1, 1))
    assert custom is not None
    return midnight(custom[0]), midnight(custom[1] + timedelta(days=1))


def previous(span: Span) -> Span:
    return span[0] - (span[1] - span[0]), span[0]  # as long, just before (state.js)


def labels(interval: str, span: Span) -> list[str]:
    zone = ZoneInfo(ZONE)
    first = datetime.fromtimestamp(span[0], zone).date()
    if interval == "hour":
        return [f"{first} {hour:02d}:00:00" for hour in range(24)]
    if interval == "month":
        return [f"{day.year}-{day.month:02d}-01" for day in _months(first, span[1])]
    step = 7 if interval == "week" else 1
    if interval == "week":
        first -= timedelta(days=first.weekday())
    out, day = [], first
    while midnight(day) < span[1]:
        out.append(day.isoformat())
        day += timedelta(days=step)
    return out


def _months(first: date, end: float) -> list[date]:
    out = []
    while midnight(first) < end:
        out.append(first)
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return out


class Checker:
    def __init__(self, driver: Any, expected: Expected, live: tuple[float, dict[str, Any]]) -> None:
        self.driver, self.expected, self.live = driver, expected, live

    def check(self, span: Span, interval: str, filters: list[Any]) -> dict[str, Any]:
        page = read(self.driver)
        want = self.expected.headline(span, previous(span), filters)
        assert (page["stats"], page["changes"]) == (want["stats"], want["changes"]), page["url"]
        assert page["chart"] == self.expected.chart(span, interval, labels(interval, span), filters), page["url"]
        panels = self.expected.panels(span, filters)
        for panel, shown in page["panels"].items():
            assert shown == panels[panel], (panel, page["url"])
        live_from, oracle_live = self.live
        assert time.time() - live_from < 290, "the live visits are older than the page's 5 minutes"
        assert page["live"] == str(oracle_live), page["url"]
        return page

    def click_row(self, panel: str, value: str) -> None:
        from selenium.webdriver.common.by import By

        before = mark(self.driver)
        rows = self.driver.find_elements(By.CSS_SELECTOR, f"#rows-{panel} tbody tr")
        [row] = [r for r in rows if r.find_element(By.TAG_NAME, "td").text == value]
        row.click()
        loaded(self.driver, before)

    def choose(self, select: str, value: str) -> None:
        before = mark(self.driver)
        self.driver.execute_script(
            "var s = document.getElementById(arguments[0]); s.value = arguments[1];"
            "s.dispatchEvent(new Event('change'));", select, value)  # fmt: skip
        loaded(self.driver, before)


def export_csv(driver: Any) -> dict[str, list[list[str]]]:
    """What the page's Export CSV link downloads, fetched by the page itself (its session)."""
    driver.set_script_timeout(60)
    encoded = driver.execute_async_script("""
      var done = arguments[arguments.length - 1], link = document.getElementById("export-csv");
      link.addEventListener("click", function (e) { e.preventDefault(); }, { once: true });
      link.click();
      var got = fetch(link.href, { credentials: "same-origin" });
      got.then(function (r) { return r.arrayBuffer(); }).then(function (b) {
        var s = "", u = new Uint8Array(b);
        for (var i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
        done(btoa(s));
      });""")  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as packed:
        return {n: list(csv.reader(io.StringIO(packed.read(n).decode()))) for n in packed.namelist()}


def settled(state: dict[str, Any], tmp_path: Path, summary: Summary) -> list[dict[str, Any]]:
    store = SQLiteStore.from_url(state["store_url"])
    wait_for(lambda: len(store.every_event()) == summary.accepted, 120,
             what=lambda: f"{summary.accepted} stored events, {len(store.every_event())} so far")  # fmt: skip
    tally(tmp_path, "rollup")
    return [dict(e) for e in store.every_event()]


def test_every_number_on_the_dashboard_is_the_oracles(start_up: Any, tmp_path: Path, browser: Any) -> None:
    _, state = start_up()
    sites = open_sites(state["store_url"], "")
    site = sites.by_id(state["site_id"])
    assert site is not None
    sites.put(dataclasses.replace(site, timezone=ZONE, goals=GOALS, props=(PROP,)))  # before any event
    today = datetime.now(ZoneInfo(ZONE)).date()
    summary, live_from = send_traffic(state, today)
    copies = settled(state, tmp_path, summary)
    expected = Expected(copies, ZONE, GOALS, PROP)
    live = expected.rows((live_from - 1, time.time() + 1), ["visitors"], [], []).get((), [0])[0]
    checker = Checker(browser, expected, (live_from, live))

    api = state["api_url"]
    sign_in(browser, api, state["admin_password"])
    browser.get(f"{api}/dashboard?period=7d")  # the property key: the site's first declared
    loaded(browser, None)
    week = range_of("7d", today)
    assert browser.execute_script("return document.getElementById('timezone').textContent;") == f"times in {ZONE}"
    page = checker.check(week, "day", [])
    assert page["stats"]["visitors"] != "0" and page["changes"]["visitors"] not in ("", "new"), page
    assert all(len(page["panels"][p]["rows"][0]) > 1 for p in ("countries", "goals", "props", "utm_source")), page
    browser.save_screenshot(str(ARTIFACTS / "dashboard-stats.png"))

    # A click on a row filters every panel; a second click adds a second filter (a raw scan).
    source = next(row[0] for row in page["panels"]["sources"]["rows"] if not row[0].startswith("("))
    checker.click_row("sources", source)
    by_source = [["is", "visit:source", [source]]]
    page = checker.check(week, "day", by_source)
    assert "f=visit%3Asource%2C" in page["url"], page["url"]
    files = export_csv(browser)  # the Export CSV link: the same range and filter, the same rows
    for panel, name in (("sources", "sources.csv"), ("countries", "countries.csv"), ("pages", "pages.csv")):
        assert [row[:2] for row in files[name][1:11]] == page["panels"][panel]["rows"], (panel, files[name][:3])
    plan = page["panels"]["props"]["rows"][0][0]
    checker.click_row("props", plan)
    both = [*by_source, ["is", f"event:props:{PROP}", [plan]]]
    page = checker.check(week, "day", both)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-stats-filtered.png"))

    # The URL is the view: opened afresh it shows the same.
    browser.get(f"{api}/dashboard{page['url']}")
    loaded(browser, None)
    assert {k: v for k, v in read(browser).items() if k != "live"} == {k: v for k, v in page.items() if k != "live"}

    # Filters removed by their chips; other ranges and intervals.
    for _ in both:
        before = mark(browser)
        browser.execute_script("document.querySelector('#filters .chip').click();")
        loaded(browser, before)
    checker.choose("period", "day")
    checker.check(range_of("day", today), "hour", [])
    checker.choose("period", "30d")
    checker.choose("interval", "week")
    checker.check(range_of("30d", today), "week", [])
    # A month under a click on a source: every panel from the hour summaries' visits (past the
    # raw scan's 8 days), the goals' conversion rates too.
    checker.click_row("sources", source)
    checker.check(range_of("30d", today), "week", by_source)
    before = mark(browser)
    browser.execute_script("document.querySelector('#filters .chip').click();")
    loaded(browser, before)
    checker.choose("period", "12mo")  # by month, the default
    checker.check(range_of("12mo", today), "month", [])
    custom = (today - timedelta(days=13), today - timedelta(days=7))
    browser.get(f"{api}/dashboard?period=custom&from={custom[0]}&to={custom[1]}&prop={PROP}")
    loaded(browser, None)
    checker.check(range_of("custom", today, custom), "day", [])

    browser.set_window_size(390, 2400)  # a phone
    time.sleep(0.3)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-stats-phone.png"))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
