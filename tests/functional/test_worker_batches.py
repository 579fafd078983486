"""Large batches and several fetcher threads against a real redis-server: one processing list
per fetcher thread, batches past Lua's unpack limit, and settling that never walks other jobs."""

from collections.abc import Sequence
from typing import Any

from processor_lambda.results import RecordResult
from redis_worker.batch import run_batch
from redis_worker.fetch import ReliableFetch
from redis_worker.worker import Worker
from tally_contract.sidekiq_redis import REGISTRY, processing_key
from tests.support.jobs import jobs, push
from tests.support.waiting import wait_for

IDENTITY = "batches:1:0123456789ab"
BIG = 5000


class Succeeds:
    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        return [RecordResult.success()] * len(bodies)


def redis_script_seconds(client: Any) -> float:
    """Redis's own time in scripts since the last CONFIG RESETSTAT (not the client's)."""
    stats = client.info("commandstats")
    return sum(int(v["usec"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")) / 1e6


def test_each_fetcher_thread_fills_its_own_processing_list(redis_client: Any) -> None:
    push(redis_client, bodies := jobs(30))
    worker = Worker(redis_client, Succeeds(), identity=IDENTITY, concurrency=2, batch_size=10)
    first, second = worker.fetches[0].fetch(10), worker.fetches[1].fetch(10)
    assert [j.body.decode() for j in first + second] == bodies[:20]
    assert redis_client.llen(processing_key("default", IDENTITY)) == 10
    assert redis_client.llen(processing_key("default", f"{IDENTITY}/1")) == 10
    assert redis_client.smembers(REGISTRY) == {f"{IDENTITY}|default".encode(), f"{IDENTITY}/1|default".encode()}


def test_a_batch_larger_than_luas_unpack_limit_is_fetched_whole(redis_client: Any) -> None:
    push(redis_client, bodies := jobs(9000))  # unpack() stops near 8,000 values
    got = ReliableFetch(redis_client, IDENTITY, ["default"]).fetch(9000)
    assert [j.body.decode() for j in got] == bodies
    assert redis_client.llen(processing_key("default", IDENTITY)) == 9000


def test_settling_walks_no_other_job_whatever_order_batches_finish(redis_client: Any) -> None:
    push(redis_client, jobs(2 * BIG))
    worker = Worker(redis_client, Succeeds(), identity=IDENTITY, concurrency=2, batch_size=BIG)
    older, newer = worker.fetches[0].fetch(BIG), worker.fetches[1].fetch(BIG)
    redis_client.config_resetstat()
    # The later batch first: in a shared list it sat before the earlier one, and its LREMs
    # walked all of it (quadratic: about a second of Redis time at this size; ~10 ms now).
    worker.fetches[1].settle(run_batch(worker.pipeline, newer, rng=worker.rng))
    worker.fetches[0].settle(run_batch(worker.pipeline, older, rng=worker.rng))
    assert redis_client.get("stat:processed") == str(2 * BIG).encode()
    assert redis_client.exists(processing_key("default", IDENTITY), processing_key("default", f"{IDENTITY}/1")) == 0
    assert redis_script_seconds(redis_client) < 0.3


def test_the_lists_of_a_dead_workers_every_thread_are_given_back(redis_client: Any) -> None:
    push(redis_client, bodies := jobs(20))
    dead = Worker(redis_client, Succeeds(), identity=IDENTITY, concurrency=2, batch_size=10, heartbeat_ttl=0.4,
                  beat_interval=0.1)  # fmt: skip
    for fetch in dead.fetches:
        fetch.beat()
        fetch.fetch(10)  # then it dies: its heartbeats expire
    alive = Worker(redis_client, Succeeds(), identity="other:2:0123456789ab")
    assert alive.fetch.recover() == 0, "not while the heartbeats live"
    given_back: list[int] = []

    def all_given_back() -> bool:
        given_back.append(alive.fetch.recover())
        return sum(given_back) == 20

    wait_for(all_given_back, timeout=5)
    assert sorted(redis_client.lrange("queue:default", 0, -1)) == sorted(b.encode() for b in bodies)
    assert redis_client.smembers(REGISTRY) == set()
    assert alive.work_once() == 20
