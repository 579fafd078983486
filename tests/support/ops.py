"""tally_ops helpers shared by the drain, DLQ and migration tests."""

from typing import Any

from tally_ops.sqs import Sqs


def received(sqs: Sqs) -> list[str]:
    """Every visible message body, consumed."""
    bodies: list[str] = []
    while batch := sqs.receive(wait=0):
        bodies += [m.body for m in batch]
        sqs.delete([m.receipt for m in batch])
    return bodies


class Crash(Exception):
    pass


class CrashingSqs(Sqs):
    """Dies on the n-th send, before it reaches SQS or after SQS took it: a process crash."""

    def __init__(self, real: Sqs, at: int, after_send: bool) -> None:
        super().__init__(real.queue, client=real.client)
        self.sends, self.at, self.after_send = 0, at, after_send

    def send(self, messages: Any, *, attempts: int = 4) -> list[tuple[int, str]]:
        self.sends += 1
        if self.sends == self.at and not self.after_send:
            raise Crash
        failed = super().send(messages, attempts=attempts)
        if self.sends == self.at:
            raise Crash
        return failed
