"""What the engine refuses: a query it cannot read, or one it will not answer within its bounds."""

from tally_contract.errors import TallyError


class QueryError(TallyError):
    """A query that cannot be answered as asked (a 400), naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooCostly(QueryError):
    """A query whose exact answer would read past a documented bound (a 400 naming the bound)."""
