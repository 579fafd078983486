"""Issue 18, the audit's stored-XSS attempt, kept failing: events whose name, page path and
properties carry markup are sent with the public write key to `tally up`; the admin then opens
the dashboard in real headless Chromium. Every payload shows as text and none runs (a payload
that ran would set ``window.__xss`` or leave an <img>, <svg> or <iframe> element behind); the
page keeps its strict Content-Security-Policy."""

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.dashboard_browser import browser, loaded, mark, read_api, sign_in, table_rows
from tests.support.local_up import start_up
from tests.support.waiting import wait_for

__all__ = ["browser", "start_up"]  # fixtures
pytestmark = pytest.mark.slow
PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><svg onload="window.__xss=3">',
    "</td><iframe srcdoc='<script>parent.__xss=4</script>'></iframe>",
]


def post(api: str, key: str, body: dict[str, Any]) -> int:
    parts = urlsplit(api)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Origin": "https://shop.example.com"}
        connection.request("POST", f"{parts.path}/events?key={key}", body=json.dumps(body).encode(), headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_stored_markup_is_shown_as_text_and_never_runs(start_up: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    _, state = start_up()
    api = state["api_url"]
    batch = [{"name": payload, "url": f"https://shop.example.com/p{i}?q=<b>", "properties": {"note": payload}}
             for i, payload in enumerate(PAYLOADS)]  # fmt: skip
    assert post(api, state["write_key"], {"batch": batch}) == 202

    sign_in(browser, api, state["admin_password"])
    query = {"site": state["site_id"], "limit": "50"}

    def stored() -> list[str]:
        return [e["name"] for e in read_api(browser, "stats/events", query).get("events", [])]

    wait_for(lambda: set(PAYLOADS) <= set(stored()), what=lambda: f"the payloads to be stored, got {stored()}")
    # The page draws them from the read API, as an admin opening it would see them; the
    # properties panel shows the payloads as values of the key "note".
    browser.get(f"{api}/dashboard?period=day&prop=note")
    loaded(browser, None)
    wait_for(lambda: len(table_rows(browser, "#events tbody")) >= len(PAYLOADS), what="the raw events table")

    shown = {row[1] for row in table_rows(browser, "#events tbody")}
    assert set(PAYLOADS) <= shown, shown  # as text, exactly as sent
    assert set(PAYLOADS) <= {row[0] for row in table_rows(browser, "#rows-props")}
    before = mark(browser)  # a click filters by a payload: its chip shows it as text too
    browser.execute_script("document.querySelector('#rows-props tbody tr').click();")
    loaded(browser, before)
    assert any(payload in browser.find_element(By.ID, "filters").text for payload in PAYLOADS)
    ran = browser.execute_script(
        "return [window.__xss === undefined, document.querySelectorAll('td img, td svg, td iframe, td script').length];"
    )
    assert ran == [True, 0], ran
    csp = browser.execute_script("return document.querySelector('meta[http-equiv]') === null;")
    assert csp  # the policy comes as a header the page cannot loosen, not a meta tag
