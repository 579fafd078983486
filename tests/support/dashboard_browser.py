"""The dashboard's browser tests: the ``browser`` fixture (Chromium from tests/support/browser.py),
signing in, waiting for the page's refresh and reading what it shows.
Screenshots go to test-artifacts/ at the repository's root (ARTIFACTS; `make clean` removes it)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium
from tests.support.waiting import wait_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(window="1280,1600") as driver:  # tests/support/browser.py
        driver.set_script_timeout(20)
        yield driver


def table_rows(driver: Any, selector: str) -> list[list[str]]:
    """The cells' text, read in one script: the page may redraw a table between two reads."""
    script = """return Array.from(document.querySelectorAll(arguments[0] + " tr"), function (row) {
        return Array.from(row.querySelectorAll("td"), function (cell) { return cell.textContent; });
    }).filter(function (cells) { return cells.length; });"""
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


def mark(driver: Any) -> str | None:
    """The page's last refresh mark: pass it to ``loaded`` after an action that refreshes."""
    return body_attribute(driver, "data-loaded")


def loaded(driver: Any, before: str | None, timeout: float = 60) -> None:
    """Wait for the dashboard's refresh after ``before`` (its body's data-loaded); no error."""

    def done() -> bool:
        return bool(body_attribute(driver, "data-error")) or body_attribute(driver, "data-loaded") not in (None, before)

    wait_for(done, timeout, what=lambda: f"the dashboard ({driver.current_url})")
    error = body_attribute(driver, "data-error")
    assert not error, error


def body_attribute(driver: Any, attribute: str) -> str | None:
    """An attribute of the current page's body, read in one script: after a sign-in click the
    page may navigate between finding an element and reading it (a stale element)."""
    from selenium.common.exceptions import WebDriverException

    try:
        value = driver.execute_script("return document.body && document.body.getAttribute(arguments[0]);", attribute)
    except WebDriverException:  # the page is navigating: read again on the next poll
        return None
    return None if value is None else str(value)
