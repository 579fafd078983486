"""What the engine refuses: a query it cannot read, or one it will not answer within its bounds."""

from tally_contract.errors import FieldNamedError


class QueryError(FieldNamedError):
    """A query that cannot be answered as asked (a 400), naming the field at fault."""


class TooCostly(QueryError):
    """A query whose exact answer would read past a documented bound (a 400 naming the bound)."""
