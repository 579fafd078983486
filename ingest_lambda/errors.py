"""Refusals, each carrying its HTTP status (as Chalice's ChaliceViewError subclasses do)."""

from tally_contract.errors import TallyError


class IngestError(TallyError):
    """A request Tally refuses. ``code`` is stable for clients; the message is for people."""

    STATUS_CODE = 400
    CODE = "bad_request"
    RETRY_AFTER: int | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, str]:
        body = {"error": self.CODE, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class MalformedBody(IngestError):
    """The body is not JSON (or not UTF-8, or a broken gzip stream)."""

    CODE = "malformed_body"


class Unauthorized(IngestError):
    """No write key, or one no site has."""

    STATUS_CODE = 401
    CODE = "unauthorized"


class NotFound(IngestError):
    """A path under a client's prefix that its API does not have (/v1/<call>)."""

    STATUS_CODE = 404
    CODE = "not_found"


class OriginNotAllowed(IngestError):
    """The browser's Origin is not among the site's allowed origins."""

    STATUS_CODE = 403
    CODE = "origin_not_allowed"


class TooLarge(IngestError):
    """A body, event or batch is over its limit."""

    STATUS_CODE = 413
    CODE = "too_large"


class UnsupportedEncoding(IngestError):
    """A Content-Encoding or Content-Type Tally cannot read."""

    STATUS_CODE = 415
    CODE = "unsupported_encoding"


class InvalidEvent(IngestError):
    """A field is missing or invalid; ``field`` names it."""

    STATUS_CODE = 422
    CODE = "invalid_event"


class RateLimited(IngestError):
    """The site sends faster than its rate limit."""

    STATUS_CODE = 429
    CODE = "rate_limited"
    RETRY_AFTER = 1


class QueueRefused(IngestError):
    """The queue (or the sites table) did not take the events; nothing was accepted."""

    STATUS_CODE = 503
    CODE = "queue_unavailable"
    RETRY_AFTER = 5
