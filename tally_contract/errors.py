"""The project's own exceptions: provider errors are translated into these at the edge
(``tally_contract.aws.call`` for AWS, the Redis adapters for Redis). Every exception Tally
raises on purpose derives from ``TallyError``."""


class TallyError(Exception):
    """Base class of every error Tally raises on purpose."""


class EnvelopeError(TallyError):
    """A queued message is not a Sidekiq job Tally can read."""


class FieldNamedError(TallyError):
    """Something a caller sent is wrong in one place: ``field`` names it, ``message`` says why
    (the answer's status is the subclass's: an event's 422, a query's or an account's 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FieldError(FieldNamedError):
    """An event field is invalid; ``field`` names it, ``reason`` says why."""

    @property
    def reason(self) -> str:
        return self.message


class ServiceError(TallyError):
    """A backing service (DynamoDB, SQS, SSM, Redis) refused a request or could not be reached.
    ``code`` is the provider's error code; ``retryable`` says whether sending again may work."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class StorageError(ServiceError):
    """A store refused a request."""


class ConditionFailed(StorageError):
    """A conditional write found the item changed (the rollup saw newer counts)."""

    def __init__(self, message: str = "condition failed", *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message, code=code, retryable=False)


class StoreConfigError(TallyError):
    """A store URL is malformed or names an unknown backend."""


class StoreUnavailable(StorageError):
    """A table or store cannot be reached; retry later."""


class QueueError(TallyError):
    """The queue could not take a job."""


class QueueUnavailable(QueueError, ServiceError):
    """The queue cannot be reached or refuses every write; retry later."""


class QueueConfigError(QueueError):
    """The queue URL is malformed or names an unknown backend."""
