"""API Gateway REST proxy events, shaped as API Gateway sends them to the Lambda.

The app declares ``*/*`` as binary, so API Gateway base64-encodes every request body and
sets ``isBase64Encoded``; ``binary=False`` builds the text shape a stage without binary
media types would send.
"""

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

DASHBOARD_PATHS = ("/dashboard/", "/stats/", "/admin/", "/api/v1/", "/api/v2/", "/api/export/")


def app_for(path: str) -> Any:
    """The Chalice app that serves ``path``, as API Gateway routes it: the dashboard's
    (dashboard_app/app.py, its own REST API on AWS) or the ingest's (app.py)."""
    if path == "/dashboard" or path.startswith(DASHBOARD_PATHS):
        from dashboard_app.app import app as dashboard

        return dashboard
    from app import app

    return app


@dataclass
class LambdaContext:
    function_name: str = "tally-dev"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tally-dev"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def rest_event(
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "203.0.113.9",
    binary: bool = True,
    stage: str = "dev",
) -> dict[str, Any]:
    """``stage`` is the API Gateway stage (api_gateway_stage in .chalice/config.json)."""
    headers = dict(headers or {})
    request_id = str(uuid.uuid4())
    resource, path_parameters = route_of(path)
    if body is None:
        wire_body: str | None = None
    elif binary:
        wire_body = base64.b64encode(body).decode("ascii")
    else:
        wire_body = body.decode("utf-8", "replace")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": "23/Nov/2026:12:00:00 +0000",
            "path": f"/{stage}{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "abc",
            "requestTimeEpoch": 1795440000000,
            "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc",
        },
        "body": wire_body,
        "isBase64Encoded": binary and body is not None,
    }


def route_of(path: str) -> tuple[str, dict[str, str] | None]:
    """The route of the app serving ``path`` (app_for) that the path matches, as API Gateway
    resolves it (``/v1/{call}``, a trailing slash dropped), with its captured parameters; an
    unknown path is its own resource."""
    from chalice.local import RouteMatcher

    app = app_for(path)
    if id(app) not in _matchers:
        _matchers[id(app)] = RouteMatcher(list(app.routes))
    try:
        match = _matchers[id(app)].match_route(path)
    except ValueError:
        return path, None
    return match.route, match.captured or None


_matchers: dict[int, Any] = {}


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by newlines
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)  # every header as sent

    def json(self) -> Any:
        return json.loads(self.body)


def decode_response(response: dict[str, Any]) -> HttpResponse:
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    pairs = [(k.lower(), str(v)) for k, v in (response.get("headers") or {}).items()]
    pairs += [(k.lower(), str(v)) for k, values in (response.get("multiValueHeaders") or {}).items() for v in values]
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers[name] = f"{headers[name]}\n{value}" if name in headers else value
    return HttpResponse(response["statusCode"], headers, raw, pairs)
