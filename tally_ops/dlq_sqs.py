"""The SQS dead-letter queue: list, show, redrive (same bytes, same attributes), purge.

Redrive uses SQS's StartMessageMoveTask where the endpoint has it (AWS); elsewhere (moto,
SQS-compatible servers) it falls back to receive, send the body unchanged, delete. A crash in
the fallback between send and delete leaves the message in the DLQ too; it reappears after its
visibility timeout and a second redrive sends it again, which the processor absorbs.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .errors import OpsError
from .letters import Letter
from .sqs import Message, Outgoing, Sqs

PEEK_VISIBILITY = 30


@dataclass(frozen=True)
class Redriven:
    moved: int
    task: str | None = None  # the move task handle when SQS does the move


def _letter(message: Message) -> Letter:
    error = message.attributes.get("error", {}).get("StringValue", "")
    return Letter(message.message_id, message.body.encode("utf-8"), str(error), message.sent_at, message.receive_count)


class SqsDeadLetters:
    def __init__(self, dlq: Sqs, *, wait: int = 1) -> None:
        self.dlq = dlq
        # Long polling: a short-polled receive on AWS samples a few servers and may come back
        # empty while messages remain, which would end a sweep early.
        self.wait = wait

    def entries(self, limit: int = 50) -> list[Letter]:
        return [_letter(m) for m in self._peek(limit, lambda _: False)]

    def show(self, message_id: str) -> Letter:
        found = self._peek(None, lambda m: m.message_id == message_id)
        match = [m for m in found if m.message_id == message_id]
        if not match:
            raise OpsError(f"no message {message_id!r} in {self.dlq.queue}")
        return _letter(match[0])

    def _peek(self, limit: int | None, stop: Callable[[Message], bool]) -> list[Message]:
        """Receive without consuming: hold what we saw, then make it all visible again."""
        seen: dict[str, Message] = {}
        try:
            while limit is None or len(seen) < limit:
                batch = self.dlq.receive(wait=self.wait, visibility=PEEK_VISIBILITY)
                if not batch:
                    break
                # the latest receipt: one seen again after its visibility ran out has a new one
                seen.update((m.message_id, m) for m in batch)
                if any(stop(m) for m in batch):
                    break
        finally:
            self.dlq.release([m.receipt for m in seen.values()])
        return list(seen.values())[:limit]

    def redrive(self, destination: Sqs, ids: Sequence[str] = (), *, use_move_task: bool = True) -> Redriven:
        """Move every message (or the ``ids``) to ``destination``, bodies and attributes unchanged."""
        if use_move_task and not ids:
            task = self.dlq.start_move_task(self.dlq.attribute("QueueArn"), destination.attribute("QueueArn"))
            if task is not None:
                return Redriven(self.dlq.counts()["visible"], task)
        moved = 0
        for batch in self._batches(set(ids)):
            failed = destination.send([Outgoing(m.body, attributes=m.attributes) for m in batch])
            bad = {i for i, _ in failed}
            self.dlq.delete([m.receipt for i, m in enumerate(batch) if i not in bad])
            moved += len(batch) - len(bad)
            if failed:
                self.dlq.release([batch[i].receipt for i in bad])
                raise OpsError(f"{len(failed)} message(s) not redriven (still in the DLQ): {failed[0][1]}")
        return Redriven(moved)

    def purge(self, ids: Sequence[str] = ()) -> int:
        """Delete every message (PurgeQueue) or just the ``ids``; returns how many."""
        if not ids:
            count = self.dlq.counts()
            self.dlq.purge()
            return count["visible"] + count["in_flight"] + count["delayed"]
        deleted = 0
        for batch in self._batches(set(ids)):
            self.dlq.delete([m.receipt for m in batch])
            deleted += len(batch)
        return deleted

    def _batches(self, ids: set[str]) -> Iterator[list[Message]]:
        """Received messages in batches of up to 10, all of them or only ``ids``. Messages not
        chosen stay hidden until the sweep ends (so they are not received again), then return."""
        skipped: list[str] = []
        try:
            while batch := self.dlq.receive(wait=self.wait, visibility=PEEK_VISIBILITY):
                chosen = [m for m in batch if not ids or m.message_id in ids]
                skipped += [m.receipt for m in batch if ids and m.message_id not in ids]
                if chosen:
                    yield chosen
                if ids:
                    ids -= {m.message_id for m in chosen}
                    if not ids:
                        break
        finally:
            self.dlq.release(skipped)
        if ids:
            raise OpsError(f"not found in {self.dlq.queue}: {', '.join(sorted(ids))}")
