"""The configuration posthog-js loads at start, answered as a PostHog project with nothing but
capture switched on: no feature flags, no session recording, no surveys, no heatmaps, no
site apps. ``/array/<key>/config.js`` is a script (what posthog-js loads first), ``/config``
the same as JSON; ``/flags/`` and the older ``/decide/`` answer "no flags". Nothing here reads
or stores anything, so no key is checked: every project gets the same answer."""

import json
from typing import Any

from chalice.app import Request, Response

from .. import edge
from ..responses import NO_STORE

MAX_TOKEN = 200


def config(token: str) -> dict[str, Any]:
    return {
        "token": token,
        "supportedCompression": ["gzip", "gzip-js"],
        "hasFeatureFlags": False,
        "analytics": {"endpoint": "/i/v0/e/"},
        "autocapture_opt_out": False,
        "autocaptureExceptions": False,
        "errorTracking": {"autocaptureExceptions": False, "suppressionRules": []},
        "capturePerformance": False,
        "captureDeadClicks": False,
        "elementsChainAsString": False,
        "sessionRecording": False,
        "heatmaps": False,
        "surveys": False,
        "productTours": False,
        "conversations": False,
        "logs": {"captureConsoleLogs": False},
        "siteApps": [],
        "defaultIdentifiedOnly": True,
        "toolbarParams": {},
        "toolbarVersion": "toolbar",
        "isAuthenticated": False,
    }


NO_FLAGS = {"flags": {}, "featureFlags": {}, "featureFlagPayloads": {}, "errorsWhileComputingFlags": False,
            "quotaLimited": []}  # fmt: skip


def answer(route: str, request: Request) -> Response:
    origin = request.headers.get("origin")
    headers = {**edge.cors_headers(origin, None), "Cache-Control": NO_STORE}
    token = str((request.uri_params or {}).get("token", ""))[:MAX_TOKEN]
    if route == "config.js":
        return _script(token, headers)
    if route == "config":
        return _json(config(token), headers)
    if route == "decide":  # posthog-js before /flags/: flags and configuration in one answer
        return _json({**config(token), **NO_FLAGS, "sessionRecording": False}, headers)
    return _json(NO_FLAGS, headers)


def _json(body: dict[str, Any], headers: dict[str, str]) -> Response:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Response(body=data, status_code=200, headers={**headers, "Content-Type": "application/json"})


def _script(token: str, headers: dict[str, str]) -> Response:
    # The token comes from the URL: JSON-encoded, with "<" escaped so no "</script>" survives.
    key = json.dumps(token).replace("<", "\\u003c")
    settings = json.dumps(config(token), separators=(",", ":")).replace("<", "\\u003c")
    script = ("(function(w){var c=w._POSTHOG_REMOTE_CONFIG=w._POSTHOG_REMOTE_CONFIG||{};"
              f"c[{key}]={{config:{settings},siteApps:[]}};}})(window);")  # fmt: skip
    return Response(body=script.encode(), status_code=200,
                    headers={**headers, "Content-Type": "application/javascript; charset=utf-8"})  # fmt: skip
