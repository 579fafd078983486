"""Real headless Chromium (Debian's chromium + chromedriver) against the real local pipeline:
`tally up` runs as a process on free ports; a page on localhost carries the t.js snippet it
prints and sends a pageview through the browser; `tally send` sends seeded traffic and reports
what the aggregates will count; the dashboard, after signing in with the password `tally up`
generated, must show exactly that. Screenshots go to test-artifacts/."""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tally_cli.snippet import script_tag
from tests.support.browser import chromium
from tests.support.local_up import start_up, tally
from tests.support.servers import free_port
from tests.support.waiting import wait_for

__all__ = ["start_up"]  # the fixture: `tally up` as a process on free ports (tests/support/local_up.py)
pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# 40 seeded events: 26 pageviews, 5 signups, 2 add_to_cart and 7 bots (the test reads the
# numbers from `tally send --json`; it only checks they are varied enough to mean something).
SEND = ("--count", "40", "--seed", "12", "--batch-size", "15")


def page_server(port: int, snippet: str) -> ThreadingHTTPServer:
    html = f"<!doctype html><title>Landing</title><h1>Landing page</h1>{snippet}".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium(window="1280,1600") as driver:  # tests/support/browser.py
        yield driver


def table_rows(driver: Any, selector: str) -> list[list[str]]:
    """The cells' text, read in one script: the page may redraw a table between two reads."""
    script = """return Array.from(document.querySelectorAll(arguments[0] + " tr"), function (row) {
        return Array.from(row.querySelectorAll("td"), function (cell) { return cell.textContent; }); });"""
    rows: list[list[str]] = driver.execute_script(script, selector)
    return rows


def read_api(driver: Any, path: str, params: dict[str, str]) -> Any:
    """A read API call from the signed-in page: its session cookie, as the dashboard's own code."""
    script = """
        var done = arguments[arguments.length - 1];
        fetch(arguments[0] + "?" + new URLSearchParams(arguments[1]), {credentials: "same-origin"})
          .then(function (r) { return r.json(); }).then(done, function (e) { done({error: String(e)}); });
    """
    return driver.execute_async_script(script, path, params)


def sign_in(driver: Any, api: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{api}/dashboard")
    wait_for(lambda: driver.current_url.endswith("/dashboard/login"), what="the login page")
    driver.save_screenshot(str(ARTIFACTS / "dashboard-login.png"))
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    loaded(driver, None)


def loaded(driver: Any, before: str | None) -> None:
    """Wait for the dashboard's refresh after ``before`` (its body's data-loaded); no error."""

    wait_for(lambda: _body(driver, "data-error") or _body(driver, "data-loaded") not in (None, before),
             what=lambda: f"the dashboard ({driver.current_url})")  # fmt: skip
    error = _body(driver, "data-error")
    assert not error, error


def _body(driver: Any, attribute: str) -> str | None:
    """An attribute of the current page's body, read in one script: after a sign-in click the
    page may navigate between finding an element and reading it (a stale element)."""
    from selenium.common.exceptions import WebDriverException

    try:
        value = driver.execute_script("return document.body && document.body.getAttribute(arguments[0]);", attribute)
    except WebDriverException:  # the page is navigating: read again on the next poll
        return None
    return None if value is None else str(value)


def show_range(driver: Any, first: str, last: str) -> None:
    """Set the date range to the days from ``first`` to ``last`` (ISO times) and press Show."""
    from selenium.webdriver.common.by import By

    before = driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")
    driver.execute_script(
        "document.getElementById('from').value = arguments[0]; document.getElementById('to').value = arguments[1];",
        first[:10], last[:10],
    )  # fmt: skip
    driver.find_element(By.CSS_SELECTOR, "#controls button[type=submit]").click()
    loaded(driver, before)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def test_a_browser_visit_and_tally_send_show_on_the_dashboard(start_up: Any, tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    _, state = start_up()
    api, page_port = state["api_url"], free_port()
    site = page_server(page_port, script_tag(api, state["write_key"]))
    try:
        visited = now()
        browser.get(f"http://localhost:{page_port}/landing")
        sent = json.loads(tally(tmp_path, "send", *SEND, "--json").stdout.strip().splitlines()[-1])
    finally:
        site.shutdown()
        site.server_close()
    names, bots = sent["names"], sent["bots"]
    assert sent["accepted"] == 40 == sum(names.values()) + bots and sent["rejected"] == {}
    assert bots > 0 and len(names) > 2, sent  # the seed gives bots, pageviews and two event names
    expected = {"views": names["pageview"] + 1, "events": sum(names.values()) + 1, "bots": bots}  # +1: the browser

    sign_in(browser, api, state["admin_password"])
    window = {"site": state["site_id"], "granularity": "h", "from": min(visited, sent["from"])[:13], "to": now()[:13]}

    def counted() -> Any:
        return read_api(browser, "stats/series", window).get("totals")

    wait_for(lambda: counted() == expected, what=lambda: f"{expected}, counted {counted()}")
    show_range(browser, min(visited, sent["from"]), sent["to"])

    shown = {key: browser.find_element(By.ID, f"total-{key}").text for key in expected}
    assert shown == {key: str(value) for key, value in expected.items()}
    events = {row[0]: int(row[1]) for row in table_rows(browser, "#top-event")}
    assert events == {**names, "pageview": names["pageview"] + 1}
    raw = table_rows(browser, "#events tbody")  # newest 50: bots are kept as raw events too
    assert len(raw) == sent["accepted"] + 1

    def live() -> str:
        return str(browser.find_element(By.ID, "live-events").text)

    wait_for(lambda: live() == str(expected["events"]), what=lambda: f"the live view to show {expected['events']}")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#health dd"), what="the pipeline panel")
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    browser.find_element(By.ID, "filter-page").send_keys("/landing")
    browser.find_element(By.CSS_SELECTOR, "#event-filters button").click()
    wait_for(lambda: len(table_rows(browser, "#events tbody")) == 1, what="the raw events filtered to /landing")
    assert [row[1:3] for row in table_rows(browser, "#events tbody")] == [["pageview", "/landing"]]

    browser.set_window_size(390, 2400)  # a phone
    time.sleep(0.3)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-phone.png"))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
