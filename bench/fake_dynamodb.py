"""A stand-in DynamoDB endpoint on 127.0.0.1 that answers every request after a fixed delay.

By default it stores nothing and speaks just enough of the JSON protocol for the processor's
write path (BatchWriteItem, UpdateItem, PutItem, GetItem); with ``storing`` it keeps the items
(fake_tables.py) and answers reads too, for the rollup bench. It counts requests by operation,
so a benchmark measures Tally's own concurrency and request count, not a real database's speed.
"""

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeDynamo:
    def __init__(self, delay: float = 0.005, *, storing: bool = False) -> None:
        from bench.fake_tables import Tables

        self.delay = delay
        self.tables = Tables() if storing else None
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
        if self.tables is not None:
            with self._lock:
                self.requests[operation] += 1
            return _stored(self.tables, operation, body)
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

            def _send(self, payload: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                from bench.fake_tables import ConditionFailed

                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                operation = self.headers.get("X-Amz-Target", ".").split(".", 1)[1]
                time.sleep(fake.delay)
                try:
                    self._send(json.dumps(fake.answer(operation, body)).encode())
                except ConditionFailed:
                    error = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                             "message": "The conditional request failed"}  # fmt: skip
                    self._send(json.dumps(error).encode(), status=400)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler


def serve_in_child(delay: float, cores: set[int] | None = None, *, storing: bool = False) -> tuple[str, Any]:
    """Start a FakeDynamo in a child process (pinned to ``cores``); return (url, process)."""
    import multiprocessing

    ready: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=_child, args=(delay, cores, ready, storing), daemon=True)
    process.start()
    return str(ready.get(timeout=30)), process


def _child(delay: float, cores: set[int] | None, ready: Any, storing: bool = False) -> None:
    import os

    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    with FakeDynamo(delay, storing=storing) as fake:
        ready.put(fake.url)
        threading.Event().wait()


def stats(url: str, reset: bool = False) -> dict[str, Any]:
    from urllib.request import urlopen

    with urlopen(f"{url}/__reset" if reset else f"{url}/__stats", timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _stored(tables: Any, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of a storing fake (fake_tables.py raises ConditionFailed)."""
    if operation not in _OPERATIONS:
        raise ValueError(f"the fake does not answer {operation}")
    return _OPERATIONS[operation](tables, body)


def _put(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    names, values = body.get("ExpressionAttributeNames"), body.get("ExpressionAttributeValues")
    tables.put(body["TableName"], body["Item"], body.get("ConditionExpression"), names, values)
    return {}


def _get(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    item = tables.get(body["TableName"], body["Key"])
    return {"Item": item} if item else {}


def _update(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    names, values = body.get("ExpressionAttributeNames"), body.get("ExpressionAttributeValues")
    tables.update(body["TableName"], body["Key"], body["UpdateExpression"], body.get("ConditionExpression"),
                  names, values)  # fmt: skip
    return {}


def _delete(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    tables.delete(body["TableName"], body["Key"])
    return {}


def _batch_get(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    found = {name: [i for key in request["Keys"] if (i := tables.get(name, key))]
             for name, request in body["RequestItems"].items()}  # fmt: skip
    return {"Responses": found, "UnprocessedKeys": {}}


def _batch_write(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    for name, requests in body["RequestItems"].items():
        for request in requests:
            if "PutRequest" in request:
                tables.put(name, request["PutRequest"]["Item"])
            else:
                tables.delete(name, request["DeleteRequest"]["Key"])
    return {"UnprocessedItems": {}}


def _query(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    items, last = tables.query(body["TableName"], body["KeyConditionExpression"], body.get("ExpressionAttributeValues"),
                               body.get("IndexName"), body.get("ExclusiveStartKey"))  # fmt: skip
    return {"Items": items, "Count": len(items), **({"LastEvaluatedKey": last} if last else {})}


def _scan(tables: Any, body: dict[str, Any]) -> dict[str, Any]:
    items = tables.scan(body["TableName"])
    return {"Items": items, "Count": len(items)}


_OPERATIONS = {"PutItem": _put, "GetItem": _get, "UpdateItem": _update, "DeleteItem": _delete,
               "BatchGetItem": _batch_get, "BatchWriteItem": _batch_write, "Query": _query, "Scan": _scan}  # fmt: skip
