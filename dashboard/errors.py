"""Errors the read API turns into status codes (routes.py)."""


class BadParameter(Exception):
    """400, naming the parameter at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class Forbidden(Exception):
    """403: authenticated, but not for this site or action."""


class Unavailable(Exception):
    """503: a store or queue did not answer."""
