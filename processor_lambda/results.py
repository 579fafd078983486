"""What processing one queued message came to, as data (Powertools' batch style)."""

from dataclasses import dataclass

from tally_contract.errors import TallyError


class JobFailed(TallyError):
    """A job did not complete. ``retryable`` is False when running it again cannot help
    (an undecodable body, an unknown job class): such a job goes straight to the dead letters."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class RecordResult:
    """The outcome for one message, in the order the messages were given."""

    ok: bool
    error: JobFailed | None = None

    @classmethod
    def success(cls) -> "RecordResult":
        return cls(ok=True)

    @classmethod
    def failure(cls, error: JobFailed) -> "RecordResult":
        return cls(ok=False, error=error)
