"""The Chalice apps' HTTP routes on one local port, shaped as API Gateway's REST proxy.

On AWS the ingest (app.py) and the dashboard (dashboard_app/app.py) are two REST APIs; here
both are served on one port, each request going to the app that has its route (their paths
are disjoint).

chalice.local's server sends text bodies unencoded unless the Content-Type is literally in
``binary_types`` (the app declares ``*/*``, which API Gateway treats as "everything"), fixes the
source IP and leaves out ``queryStringParameters``; the ingest handlers depend on all three. So
this adapter builds the event API Gateway would send and calls the app as Lambda does, reusing
chalice.local's route matcher, Lambda context and thread-local ``current_request``.
Paths are served with and without the stage prefix (``/<stage>``: API Gateway's stage is named
after the Chalice stage, .chalice/config.json), so deployed URLs work with the host changed.
"""

import base64
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_STAGE = "local"  # `tally up`'s default stage
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class LocalApi:
    """Turns one HTTP request into an API Gateway proxy event and the answer of the app
    whose route it is."""

    def __init__(self, apps: Any, stage: str = DEFAULT_STAGE) -> None:
        from chalice.local import RouteMatcher

        self.apps = [_local(app) for app in (apps if isinstance(apps, list | tuple) else [apps])]
        self.stage = stage
        self._routes = {id(app): RouteMatcher(list(app.routes)) for app in self.apps}
        self._by_route = {route: app for app in reversed(self.apps) for route in app.routes}

    def event(self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
        parts = urlsplit(target)
        prefix = "/" + self.stage
        path = parts.path
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :] or "/"
        match = self._match(path)  # ValueError: no such route
        multi = parse_qs(parts.query, keep_blank_values=True)
        request_id = str(uuid.uuid4())
        return {
            "resource": match.route,
            "path": path,
            "httpMethod": method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "pathParameters": match.captured or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": match.route,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
            },
            # The app declares */* binary: API Gateway base64-encodes every body.
            "body": base64.b64encode(body).decode("ascii") if body else None,
            "isBase64Encoded": bool(body),
        }

    def _match(self, path: str) -> Any:
        for app in self.apps:
            try:
                return self._routes[id(app)].match_route(path)
            except ValueError:
                continue
        raise ValueError(path)

    def call(self, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        from chalice.local import LambdaContext

        app = self._by_route[event["resource"]]
        response = app(event, LambdaContext("api_handler", 256, max_runtime_ms=30_000))
        raw = response.get("body") or ""
        body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
        headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers += [(name, str(value)) for value in values]
        return int(response["statusCode"]), headers, body


def _local(app: Any) -> Any:
    from chalice.local import LocalChalice

    if not isinstance(app, LocalChalice):
        # current_request becomes thread-local, as under `chalice local`: requests run in parallel.
        app.__class__ = type("LocalApp", (LocalChalice, app.__class__), {})
    return app


class _Handler(BaseHTTPRequestHandler):
    server: "LocalHttpServer"
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection (or a stalled client) lets go, so stop never hangs

    def _handle(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self._reply(400, [], b'{"message": "bad Content-Length"}')
        if length > MAX_BODY:
            self.close_connection = True
            return self._reply(413, [], b'{"message": "Request Too Long"}')
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name: value for name, value in self.headers.items()}
        try:
            event = self.server.api.event(self.command, self.path, headers, body, self.client_address[0])
        except ValueError:
            return self._reply(403, [], b'{"message": "Missing Authentication Token"}')
        status, response_headers, response_body = self.server.api.call(event)
        self._reply(status, response_headers, response_body)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class LocalHttpServer(ThreadingHTTPServer):
    # stop() waits for requests in flight: an event being queued finishes and gets its answer.
    daemon_threads = False
    block_on_close = True
    # Parallel clients (a sender's burst, a page's assets) queue up instead of being reset at
    # socketserver's default backlog of 5.
    request_queue_size = 128

    def __init__(self, app: Any, host: str, port: int, *, stage: str = DEFAULT_STAGE, verbose: bool = False) -> None:
        self.api = LocalApi(app, stage)
        self.verbose = verbose
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/{self.api.stage}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        self.server_close()
