"""The APIs of clients people already run, each mapped onto Tally's event in one module:
``form`` (HTML forms and query strings, Rails-params style), ``segment`` (Segment's and
RudderStack's HTTP Tracking API), ``posthog`` (PostHog's capture API and the configuration
posthog-js asks for), ``plausible`` (Plausible's Events API). No client's dialect goes past
its module: each builds Tally event dicts and hands them to service.accept_events.

app.py imports a module on its routes' first call only (``handle``), so an /events request
never pays for the others.
"""

import importlib

from chalice.app import Request, Response


def handle(client: str, route: str, request: Request) -> Response:
    module = importlib.import_module(f"{__name__}.{client}")
    response: Response = module.handle(route, request)
    return response
