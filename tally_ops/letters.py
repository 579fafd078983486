"""One dead letter, whichever backend holds it, summarised for listing."""

from dataclasses import dataclass

from tally_contract import wire


@dataclass(frozen=True)
class Letter:
    """``id`` is the SQS message id or the Sidekiq jid; ``body`` the exact job bytes."""

    id: str
    body: bytes
    error: str = ""
    at: float = 0.0  # failed_at (dead set) or sent time (SQS)
    receive_count: int = 0

    def summary(self) -> dict[str, str]:
        try:
            job = wire.loads(self.body)
        except (ValueError, RecursionError):
            job = None
        if not isinstance(job, dict):
            return {"id": self.id, "jid": "", "class": "(not a job)", "queue": "", "error": self.error}
        error = self.error or " ".join(str(job.get(k, "")) for k in ("error_class", "error_message")).strip()
        return {
            "id": self.id,
            "jid": str(job.get("jid", "")),
            "class": str(job.get("wrapped") or job.get("class", "")),
            "queue": str(job.get("queue", "")),
            "error": error,
        }
