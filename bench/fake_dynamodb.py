"""A stand-in DynamoDB endpoint on 127.0.0.1 that answers every request after a fixed delay.

It speaks just enough of the JSON protocol for the processor's write path (BatchWriteItem,
UpdateItem, PutItem, GetItem) and counts requests by operation, so a benchmark measures the
processor's own concurrency and request count, not a real database's speed.
"""

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeDynamo:
    def __init__(self, delay: float = 0.005) -> None:
        self.delay = delay
        self.requests: Counter[str] = Counter()
        self.items_written = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> "FakeDynamo":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.items_written = 0

    def answer(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests[operation] += 1
            if operation == "BatchWriteItem":
                self.items_written += sum(len(v) for v in body.get("RequestItems", {}).values())
            elif operation == "PutItem":
                self.items_written += 1
        if operation == "BatchWriteItem":
            return {"UnprocessedItems": {}}
        if operation == "GetItem":
            return {}
        return {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes; without NODELAY, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                # Control endpoints, so a benchmark can run this server in another process.
                if self.path == "/__reset":
                    fake.reset()
                stats = {"requests": dict(fake.requests), "items_written": fake.items_written}
                self._send(json.dumps(stats).encode())

            def _send(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                operation = self.headers.get("X-Amz-Target", ".").split(".", 1)[1]
                time.sleep(fake.delay)
                self._send(json.dumps(fake.answer(operation, body)).encode())

            def log_message(self, *_: Any) -> None:
                pass

        return Handler


def serve_in_child(delay: float, cores: set[int] | None = None) -> tuple[str, Any]:
    """Start a FakeDynamo in a child process (pinned to ``cores``); return (url, process)."""
    import multiprocessing

    ready: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=_child, args=(delay, cores, ready), daemon=True)
    process.start()
    return str(ready.get(timeout=30)), process


def _child(delay: float, cores: set[int] | None, ready: Any) -> None:
    import os

    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    with FakeDynamo(delay) as fake:
        ready.put(fake.url)
        threading.Event().wait()


def stats(url: str, reset: bool = False) -> dict[str, Any]:
    from urllib.request import urlopen

    with urlopen(f"{url}/__reset" if reset else f"{url}/__stats", timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result
