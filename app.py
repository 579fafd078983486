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
    return handlers.script()


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
