"""Chalice's entry point: wiring only. Each route is one call into a package."""

from chalice import Chalice

from ingest_lambda import handlers, observability

app = Chalice(app_name="tally")
# Every body is binary to API Gateway, so gzip and other raw bytes reach the handler intact
# (base64 in the event) instead of being read as text and mangled.
app.api.binary_types = ["*/*"]
for middleware in observability.middlewares():
    app.register_middleware(middleware, "http")


@app.route("/events", methods=["POST"], content_types=["*/*"])
def post_events():  # type: ignore[no-untyped-def]
    return handlers.post_events(app.current_request)


@app.route("/events", methods=["OPTIONS"])
def events_preflight():  # type: ignore[no-untyped-def]
    return handlers.preflight(app.current_request)


@app.route("/i.gif", methods=["GET"])
def pixel():  # type: ignore[no-untyped-def]
    return handlers.pixel(app.current_request)


@app.route("/health", methods=["GET"])
def health():  # type: ignore[no-untyped-def]
    return handlers.health()


@app.route("/t.js", methods=["GET"])
def script():  # type: ignore[no-untyped-def]
    return handlers.script()
