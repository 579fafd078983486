"""The accounting every fault scenario ends with (docs/faults.md).

The client side knows what it sent, what ingest accepted (2xx for that event) and what it gave
up on (rejected, reported to the caller). The storage side knows which event ids are in the
events table and which are in a dead-letter queue, with their reason. They must add up:
``sent == accepted + rejected`` and ``accepted == stored_unique + dead_lettered``, with none both
stored and dead, and nothing stored that was never accepted.

Raw events are stored in packs (processor_lambda/items.py): a redelivered event can sit in two
packs, and every reader keeps one copy per event id; the rollup removes the packs a redelivery
made wholly redundant. So the books, read after the rollup, count an event stored once however
many packs hold it, report the extra copies left (``extra_copies``; before the rollup in the
notes), and each scenario checks the sealed total equals ``stored_unique``: copies are never
counted twice.
"""

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCALE = os.environ.get("TALLY_FAULTS_SCALE", "small")
FULL_ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "faults"
# The short run inside `make test` must not overwrite the figures of a `make faults` run.
ARTIFACTS = FULL_ARTIFACTS if SCALE == "full" else FULL_ARTIFACTS.with_name("faults-small")


def volume(small: int, full: int) -> int:
    """Events per scenario: ``small`` inside `make test`, ``full`` under `make faults`."""
    return full if SCALE == "full" else small


@dataclass
class Ledger:
    scenario: str
    sent: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)  # event id -> why the client gave up
    stored: Counter[str] = field(default_factory=Counter)  # event id -> raw packs holding it
    dead: dict[str, str] = field(default_factory=dict)  # event id -> dead-letter reason
    retries: int = 0  # requests the client repeated (same event ids)
    notes: dict[str, Any] = field(default_factory=dict)  # scenario-specific figures

    def store(self, event_ids: list[str]) -> None:
        self.stored.update(event_ids)

    def check(self) -> None:
        """Assert the books balance; write the figures to test-artifacts/faults/<scenario>.json."""
        self.write()
        assert self.accepted.isdisjoint(self.rejected), "an event both accepted and rejected"
        assert self.sent == self.accepted | set(self.rejected), "sent != accepted + rejected"
        both = set(self.stored) & set(self.dead)
        assert not both, f"{len(both)} events both stored and dead-lettered"
        assert set(self.stored) <= self.accepted, "stored an event that was never accepted"
        assert set(self.dead) <= self.accepted, "dead-lettered an event that was never accepted"
        lost = self.accepted - set(self.stored) - set(self.dead)
        assert not lost, f"{len(lost)} accepted events neither stored nor dead-lettered, e.g. {sorted(lost)[:3]}"
        assert all(self.dead.values()), "a dead-lettered event without a reason"

    def figures(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scale": SCALE,
            "sent": len(self.sent),
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "stored_unique": len(self.stored),
            "extra_copies": sum(self.stored.values()) - len(self.stored),
            "dead_lettered": len(self.dead),
            "client_retries": self.retries,
            "dead_reasons": dict(Counter(reason.split(":", 1)[0] for reason in self.dead.values())),
            **self.notes,
        }

    def write(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.figures(), indent=2, sort_keys=True)
        (ARTIFACTS / f"{self.scenario}.json").write_text(text + "\n")
        print(f"\n[faults] {text}")
