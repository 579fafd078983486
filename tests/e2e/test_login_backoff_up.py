"""Issue 18, the login backoff under parallel requests, as the audit tried it: `tally up` as a
process, 40 wrong passwords sent at once over HTTP. Once 21 of them were checked (the backoff
was read, then written, per instance); now exactly one is, the rest wait."""

import http.client
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.support.local_up import start_up

__all__ = ["start_up"]
pytestmark = pytest.mark.slow
PARALLEL = 40


def request(api: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    parts = urlsplit(api)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request(method, parts.path + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_forty_parallel_wrong_passwords_get_one_check(start_up: Any) -> None:
    _, state = start_up()
    api = state["api_url"]
    status, headers, page = request(api, "GET", "/dashboard/login")
    assert status == 200
    nonce = re.search(r"tally_login=([^;]+)", headers["set-cookie"])
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert nonce and csrf
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tally_login={nonce[1]}"}
    body = urlencode({"csrf": csrf[1].decode(), "password": "not-the-password"}).encode()
    start = threading.Barrier(PARALLEL)

    def attempt(_: int) -> int:
        start.wait()
        return request(api, "POST", "/dashboard/login", body, form)[0]

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(attempt, range(PARALLEL)))
    print(f"\n[backoff] {PARALLEL} parallel wrong passwords: {statuses.count(401)} checked (401), "
          f"{statuses.count(429)} told to wait (429)")  # fmt: skip
    assert statuses.count(401) == 1 and statuses.count(429) == PARALLEL - 1, statuses
    # The right password from the same address waits its turn too: the backoff is no oracle.
    right = urlencode({"csrf": csrf[1].decode(), "password": state["admin_password"]}).encode()
    status, headers, _ = request(api, "POST", "/dashboard/login", right, form)
    assert status == 429 and int(headers["retry-after"]) >= 1
