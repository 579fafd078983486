"""Errors the read API answers with, each carrying its HTTP status (as ingest_lambda/errors.py
and Chalice's ChaliceViewError subclasses do): routes.py turns any of them into a response."""

from tally_contract.errors import ServiceError, TallyError


class DashboardError(TallyError):
    """A request the read API refuses. ``CODE`` is stable for clients; the message is for people."""

    STATUS_CODE = 400
    CODE = "bad_request"

    def body(self) -> dict[str, str]:
        return {"error": self.CODE, "message": str(self)}

    def headers(self) -> dict[str, str]:
        return {}


class BadParameter(DashboardError):
    """400, naming the parameter at fault."""

    CODE = "bad_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message

    def body(self) -> dict[str, str]:
        return {**super().body(), "parameter": self.parameter}


class Unauthorized(DashboardError):
    """401: no credentials, or ones that do not verify."""

    STATUS_CODE = 401
    CODE = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DashboardError):
    """403: authenticated, but not for this site or action."""

    STATUS_CODE = 403
    CODE = "forbidden"


class Unavailable(DashboardError, ServiceError):
    """503: a store or queue did not answer."""

    STATUS_CODE = 503
    CODE = "unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}
