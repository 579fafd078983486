"""Headless Chromium (Debian's chromium and chromedriver, driven by selenium) visiting pages of
a site Tally never saw: ``http://shop.example.com:<port>/...`` served from this process, the
name mapped to 127.0.0.1 inside the browser (``--host-resolver-rules``), so every byte stays on
loopback while the trackers see a real hostname (Plausible's refuses to count localhost).
The trackers come unmodified from tests/e2e/browser/node_modules (npm ci, `make test-deps`)."""

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
NODE_MODULES = Path(__file__).resolve().parents[1] / "e2e" / "browser" / "node_modules"
HOSTS = ("shop.example.com", "other.example.net")
# Headless Chromium says "HeadlessChrome" in its user agent, which the processor rightly counts
# as a bot (bots count nowhere but the bucket's bot total): present a desktop Chrome instead.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
Page = str | Callable[[], str]


@dataclass
class Site:
    """Pages by path (HTML, or a function giving it); a path not listed is a 404 page if
    ``not_found`` is set, else a bare 404."""

    port: int
    pages: dict[str, Page] = field(default_factory=dict)
    not_found: Page | None = None

    def url(self, path: str, host: str = HOSTS[0]) -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def site_server() -> Iterator[Site]:
    site = Site(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path.startswith("/node_modules/"):
                return self._file(NODE_MODULES / path.removeprefix("/node_modules/"))
            page = site.pages.get(path)
            status = 200 if page is not None else 404
            page = page if page is not None else site.not_found
            if page is None:
                return self._send(404, b"not found", "text/plain")
            self._send(status, (page() if callable(page) else page).encode(), "text/html; charset=utf-8")

        def _file(self, file: Path) -> None:
            resolved = file.resolve()
            if NODE_MODULES.resolve() not in resolved.parents or not resolved.is_file():
                return self._send(404, b"not found", "text/plain")
            self._send(200, resolved.read_bytes(), "application/javascript; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", site.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(window: str = "1280,900") -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        assert Path(binary).exists(), f"{binary} is missing: run `make test-deps` (chromium, chromium-driver)"
    assert NODE_MODULES.is_dir(), "tests/e2e/browser/node_modules is missing: run `make test-deps` (npm ci)"
    profile = tempfile.mkdtemp(prefix="tally-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    rules = ", ".join(f"MAP {host} 127.0.0.1" for host in HOSTS) + ", EXCLUDE localhost"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={window}",
                 f"--user-agent={USER_AGENT}", f"--host-resolver-rules={rules}"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: Any) -> list[str]:
    """The page's console errors since the last call (what a tracker failing would print)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
