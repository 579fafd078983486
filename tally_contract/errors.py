"""The project's own exceptions: provider errors are translated into these at the edge."""


class TallyError(Exception):
    """Base class of every error Tally raises on purpose."""


class EnvelopeError(TallyError):
    """A queued message is not a Sidekiq job Tally can read."""


class FieldError(TallyError):
    """An event field is invalid; ``field`` names it, the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class QueueError(TallyError):
    """The queue could not take a job."""


class QueueUnavailable(QueueError):
    """The queue cannot be reached or refuses every write; retry later."""


class QueueConfigError(QueueError):
    """The queue URL is malformed or names an unknown backend."""


class StoreUnavailable(TallyError):
    """A table or store cannot be reached; retry later."""
