"""The ingest's Chalice entry point, with the processor and the rollup: wiring only, each route
one call into a package. The dashboard and admin API are another app (dashboard_app/app.py),
with their own function and role (docs/architecture.md)."""

import os

from chalice.app import Chalice, Rate

from ingest_lambda import handlers, observability, responses

app = Chalice(app_name="tally")
# Every body is binary to API Gateway, so gzip and other raw bytes reach the handler intact
# (base64 in the event) instead of being read as text and mangled.
app.api.binary_types = ["*/*"]
app.register_middleware(responses.security_headers, "http")
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
    return handlers.script(app.current_request)


# The APIs of clients people already run (ingest_lambda/clients/): each client's module is
# imported on its routes' first call only, never on an /events request.
def _client(client: str, route: str):  # type: ignore[no-untyped-def]
    from ingest_lambda.clients import handle

    return handle(client, route, app.current_request)


@app.route("/v1/{call}", methods=["POST"], content_types=["*/*"])
def segment(call):  # type: ignore[no-untyped-def]
    return _client("segment", call)


@app.route("/batch", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_batch():  # type: ignore[no-untyped-def]
    return _client("posthog", "batch")


@app.route("/capture", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_capture():  # type: ignore[no-untyped-def]
    return _client("posthog", "capture")


@app.route("/e", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_e():  # type: ignore[no-untyped-def]
    return _client("posthog", "e")


@app.route("/i/v0/e", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_i():  # type: ignore[no-untyped-def]
    return _client("posthog", "i")


@app.route("/flags", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_flags():  # type: ignore[no-untyped-def]
    return _client("posthog", "flags")


@app.route("/decide", methods=["POST", "OPTIONS"], content_types=["*/*"])
def posthog_decide():  # type: ignore[no-untyped-def]
    return _client("posthog", "decide")


@app.route("/array/{token}/config", methods=["GET"])
def posthog_config(token):  # type: ignore[no-untyped-def]
    return _client("posthog", "config")


@app.route("/array/{token}/config.js", methods=["GET"])
def posthog_config_js(token):  # type: ignore[no-untyped-def]
    return _client("posthog", "config.js")


@app.route("/api/event", methods=["POST"], content_types=["*/*"])
def plausible_event():  # type: ignore[no-untyped-def]
    return _client("plausible", "event")


# The processor functions share this zip but import only processor code, on first call.
def processor_middleware(event, get_response):  # type: ignore[no-untyped-def]
    from processor_lambda.observability import sqs_middleware

    return sqs_middleware(event, get_response)


app.register_middleware(processor_middleware, "sqs")


def rollup_middleware(event, get_response):  # type: ignore[no-untyped-def]
    from processor_lambda.observability import scheduled_middleware

    return scheduled_middleware(event, get_response)


app.register_middleware(rollup_middleware, "scheduled")


@app.on_sqs_message(
    queue=os.environ.get("TALLY_SQS_QUEUE_NAME", "tally-dev-events"),
    batch_size=int(os.environ.get("TALLY_SQS_BATCH_SIZE", "1000")),
    maximum_batching_window_in_seconds=int(os.environ.get("TALLY_SQS_BATCH_WINDOW", "5")),
    maximum_concurrency=int(os.environ.get("TALLY_SQS_MAX_CONCURRENCY", "5")),
)
def process_events(event):  # type: ignore[no-untyped-def]
    from processor_lambda.entry import handle_sqs

    return handle_sqs(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def rollup(event):  # type: ignore[no-untyped-def]
    from processor_lambda.entry import run_rollup

    return run_rollup()


# The rollup's workers: the schedule plans, this function seals (processor_lambda/rollup_work.py).
@app.on_sqs_message(
    queue=os.environ.get("TALLY_ROLLUP_QUEUE_NAME", "tally-dev-rollup"),
    batch_size=int(os.environ.get("TALLY_ROLLUP_BATCH_SIZE", "4")),
    maximum_concurrency=int(os.environ.get("TALLY_ROLLUP_MAX_CONCURRENCY", "4")),
)
def rollup_worker(event):  # type: ignore[no-untyped-def]
    from processor_lambda.entry import handle_rollup_work

    return handle_rollup_work(event.to_dict())
