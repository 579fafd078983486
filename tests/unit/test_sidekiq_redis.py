"""Sidekiq's Redis layout in one module (tally_contract/sidekiq_redis.py): no network."""

import ast
import json
import random
from pathlib import Path

from tally_contract import sidekiq_redis as sk

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "tests" / "support" / "vectors" / "sidekiq-6.4.1"
# Key shapes only this module may spell; Lua only it may hold.
KEY_PREFIXES = ("queue:", "stat:", "tally:drain", "tally:worker", "tally:processing")
SKIPPED = {"tests", "vendor", "build", "test-artifacts"}


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, value) of every string constant of a module but its docstrings (which may
    describe keys)."""
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docs]
    return [(n.lineno, n.value) for n in found if isinstance(n.value, str)]


def test_no_other_module_spells_the_layout_or_holds_lua() -> None:
    found = []
    tops = [p for p in ROOT.iterdir() if p.is_dir() and p.name not in SKIPPED and not p.name.startswith(".")]
    for path in sorted(path for top in tops for path in top.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if path.name == "sidekiq_redis.py":
            continue
        for line, value in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if value.startswith(KEY_PREFIXES) or "redis.call(" in value.lower():
                found.append(f"{relative}:{line}: {value[:40]!r}")
    assert found == []


def test_the_module_does_not_import_redis() -> None:
    # Ingest's Redis queue imports it; the scripts are text, registered by whoever runs them.
    tree = ast.parse((ROOT / "tally_contract" / "sidekiq_redis.py").read_text(encoding="utf-8"))
    imported = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] == "redis"}


def test_key_names_are_sidekiqs() -> None:
    assert (sk.QUEUES, sk.queue_key("low"), sk.RETRY, sk.SCHEDULE, sk.DEAD, sk.PROCESSES) == (
        "queues", "queue:low", "retry", "schedule", "dead", "processes",
    )  # fmt: skip
    assert sk.stat_day_key(sk.STAT_PROCESSED, "2026-11-26") == "stat:processed:2026-11-26"
    assert (sk.workers_key("h:1:ab"), sk.signals_key("h:1:ab")) == ("h:1:ab:workers", "h:1:ab-signals")


def test_retry_delay_is_sidekiqs_formula_over_the_whole_jitter() -> None:
    rng = random.Random(3)
    for count in (0, 1, 5, 24):
        seen = {sk.retry_delay(count, rng) for _ in range(500)}
        assert seen == {count**4 + 15 + jitter * (count + 1) for jitter in range(10)}


def test_to_queue_call_pairs_each_member_with_its_queue() -> None:
    keys, args = sk.to_queue_call(sk.DEAD, [(b"m1", "low", b"m1"), (b"m2", "default", b"p2")])
    assert keys == ["dead", "queues", "queue:low", "queue:default"]
    assert args == [b"m1", "low", b"m1", b"m2", "default", b"p2"]
    # TO_QUEUE reads ARGV in threes and KEYS[2 + j] for the j-th: the same count of each.
    assert len(args) == 3 * (len(keys) - 2)


def test_a_due_job_is_pushed_as_sidekiqs_client_writes_it() -> None:
    member = (CAPTURES / "activejob_scheduled_member.json").read_bytes().strip()
    name, payload = sk.due_job(member, now=1795440800.25)
    job, original = json.loads(payload), json.loads(member)
    assert name == "default"
    assert list(job)[:2] == ["retry", "queue"] and list(job)[-1] == "enqueued_at"
    assert job["enqueued_at"] == 1795440800.25 and job["jid"] == original["jid"]
    assert {k: v for k, v in job.items() if k != "enqueued_at"} == original


def test_due_job_keeps_millisecond_stamps_and_unreadable_members() -> None:
    name, payload = sk.due_job('{"class":"X","args":[],"created_at":1795440775770}', now=1795440800.25)
    assert (name, json.loads(payload)["enqueued_at"]) == ("default", 1795440800250)
    assert sk.due_job(b"not json", now=1.0) == ("default", b"not json")
