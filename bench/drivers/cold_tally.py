"""Cold-start Tally, run as a fresh process: ``import app`` and its first ``POST /events``.

Only what the Lambda itself would import: the API Gateway event and the context are built
here, not with tests.support.apigw. The clock starts before any import. Reads BENCH_WRITE_KEY and
BENCH_ORIGIN; TALLY_* and AWS_* come from the environment as in a deployed function.
"""

import time

STARTED = time.perf_counter()
FOREIGN = {"tests", "bench", "moto", "pytest", "yaml", "boto3"}  # a deployed function has none of these loaded


class Context:
    function_name = "tally-bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tally-bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def rest_event(write_key: str, origin: str, stage: str) -> dict[str, object]:
    """``stage``: API Gateway's stage, named after the Chalice stage (.chalice/config.json)."""
    import base64
    import json

    body = json.dumps({"url": origin + "/pricing", "referrer": "https://news.example.net/x"}).encode()
    headers = {"Content-Type": "application/json", "Origin": origin, "Accept": "*/*", "User-Agent": "bench/1.0"}
    context = {
        "resourcePath": "/events",
        "httpMethod": "POST",
        "path": f"/{stage}/events",
        "stage": stage,
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {"sourceIp": "203.0.113.9", "userAgent": headers["User-Agent"]},
        "accountId": "123456789012",
        "apiId": "abc",
    }
    return {
        "resource": "/events",
        "path": "/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"key": write_key},
        "multiValueQueryStringParameters": {"key": [write_key]},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": context,
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def main() -> None:
    import os

    from app import app

    imported = time.perf_counter() - STARTED
    response = app(
        rest_event(os.environ["BENCH_WRITE_KEY"], os.environ["BENCH_ORIGIN"], os.environ["TALLY_STAGE"]), Context()
    )
    elapsed = time.perf_counter() - STARTED
    import base64
    import json
    import sys

    body = response.get("body") or ""
    text = base64.b64decode(body).decode() if response.get("isBase64Encoded") else body
    result = {"elapsed": elapsed, "import": imported, "status": response["statusCode"], "body": text}
    result["foreign_modules"] = sorted(name for name in sys.modules if name.split(".")[0] in FOREIGN)
    print("BENCH_RESULT " + json.dumps(result), flush=True)


main()
