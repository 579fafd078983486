"""Real headless Chromium (Debian's chromium + chromedriver) against the real local pipeline:
`tally up` runs as a process on free ports; a page on localhost carries the t.js snippet it
prints and sends a pageview through the browser; `tally send` sends seeded traffic and reports
what the aggregates will count; the dashboard, after signing in with the password `tally up`
generated, must show exactly that. Screenshots go to test-artifacts/."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tally_cli.snippet import script_tag
from tests.support.dashboard_browser import ARTIFACTS, browser, loaded, mark, sign_in, table_rows
from tests.support.local_up import start_up, tally
from tests.support.servers import free_port
from tests.support.waiting import wait_for

__all__ = ["browser", "start_up"]  # fixtures: Chromium (tests/support/dashboard_browser.py), `tally up` (local_up.py)
pytestmark = pytest.mark.slow

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


def test_a_browser_visit_and_tally_send_show_on_the_dashboard(start_up: Any, tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    _, state = start_up()
    api, page_port = state["api_url"], free_port()
    site = page_server(page_port, script_tag(api, state["write_key"]))
    try:
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

    def shown() -> str:
        before = mark(browser)
        browser.execute_script("Tally.refresh();")
        loaded(browser, before)
        return str(browser.find_element(By.ID, "stat-pageviews").text)

    # Today in the site's zone (UTC here): the browser's pageview and every one tally send sent.
    browser.get(f"{api}/dashboard?period=day")
    loaded(browser, None)
    wait_for(lambda: shown() == str(expected["views"]), 60, what=lambda: f"{expected['views']} pageviews shown")
    raw = table_rows(browser, "#events tbody")  # newest 50: bots are kept as raw events too
    assert len(raw) == sent["accepted"] + 1
    current = browser.find_element(By.ID, "current-visitors").text
    assert current.isdigit() and int(current) > 0, current  # everything was sent within 5 minutes
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
