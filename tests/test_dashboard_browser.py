"""Real headless Chromium (Debian's chromium + chromedriver) against the whole pipeline on
loopback: a page carrying the t.js snippet sends a pageview through the browser, a script sends
a known number of events over HTTP, the queue is drained into the processor, and the dashboard,
after signing in, shows exactly those counts. Screenshots go to test-artifacts/."""

import json
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.local_pipeline import LocalPipeline, local_pipeline
from tests.servers import free_port

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Headless Chromium says "HeadlessChrome" in its user agent, which the processor rightly counts
# as a bot (bots count nowhere but the bucket's bot total): present a desktop Chrome instead.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
SENT = {"signup": 4, "download": 3}  # named events sent over HTTP, besides the browser's pageview


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
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        assert Path(binary).exists(), (
            f"{binary} is missing: run `make test-deps` (apt-get install chromium chromium-driver)"
        )
    profile = tempfile.mkdtemp(prefix="tally-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,1600",
                 f"--user-agent={USER_AGENT}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def send_events(pipeline: LocalPipeline, origin: str) -> None:
    batch = [
        {"name": name, "url": f"{origin}/app", "properties": {"n": i}}
        for name, count in SENT.items()
        for i in range(count)
    ]
    request = urllib.request.Request(
        f"{pipeline.api}/events?key={pipeline.write_key}", data=json.dumps({"batch": batch}).encode(),
        headers={"Content-Type": "application/json", "Origin": origin, "User-Agent": "tally-browser-test/1.0"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.read()
        assert json.loads(response.read())["accepted"] == sum(SENT.values())


def table_rows(driver: Any, selector: str) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"{selector} tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_a_browser_visit_and_sent_events_show_on_the_dashboard(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    page_port = free_port()
    origin = f"http://localhost:{page_port}"
    with local_pipeline(origin) as pipeline:
        snippet = f'<script defer src="{pipeline.api}/t.js" data-key="{pipeline.write_key}"></script>'
        site = page_server(page_port, snippet)
        try:
            browser.get(f"{origin}/landing")
            processed = wait_until(pipeline.drain, "the browser's pageview to reach the queue")
            assert processed == 1
            send_events(pipeline, origin)
            assert pipeline.drain() == sum(SENT.values())

            browser.get(f"{pipeline.api}/dashboard")
            wait_until(lambda: browser.current_url.endswith("/dashboard/login"), "the login page")
            browser.save_screenshot(str(ARTIFACTS / "dashboard-login.png"))
            browser.find_element(By.ID, "password").send_keys(pipeline.password)
            browser.find_element(By.ID, "sign-in").click()
            body = lambda: browser.find_element(By.TAG_NAME, "body")  # noqa: E731
            wait_until(lambda: body().get_attribute("data-loaded") or body().get_attribute("data-error"),
                       f"the dashboard ({browser.current_url})")  # fmt: skip
            error = browser.find_element(By.TAG_NAME, "body").get_attribute("data-error")
            assert not error, error

            assert browser.find_element(By.ID, "total-views").text == "1"
            assert browser.find_element(By.ID, "total-events").text == str(1 + sum(SENT.values()))
            events = dict((r[0], int(r[1])) for r in table_rows(browser, "#top-event"))
            assert events == {"pageview": 1, **SENT}
            assert table_rows(browser, "#top-page")[0] == ["/landing", "1"]
            raw = table_rows(browser, "#events tbody")
            assert len(raw) == 1 + sum(SENT.values())
            assert [row[1:3] for row in raw if row[1] == "pageview"] == [["pageview", "/landing"]]
            assert sorted(row[1] for row in raw if row[1] != "pageview") == sorted(
                n for n, c in SENT.items() for _ in range(c)
            )
            live = wait_until(lambda: browser.find_element(By.ID, "live-events").text not in ("", "-") and
                              browser.find_element(By.ID, "live-events").text, "the live view")  # fmt: skip
            assert live == str(1 + sum(SENT.values()))
            wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#health dd"), "the pipeline panel")
            browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

            browser.set_window_size(390, 2400)  # a phone
            time.sleep(0.3)
            browser.save_screenshot(str(ARTIFACTS / "dashboard-phone.png"))
            width = browser.execute_script("return document.documentElement.scrollWidth")
            assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
        finally:
            site.shutdown()
            site.server_close()
