"""The pipeline panel on the Redis backend, against a real redis-server: Sidekiq's queue,
retry and dead sets; dead-job inspect and byte-exact redrive."""

import json
from typing import Any

from dashboard.pipeline_edge import RedisPipeline
from tests.support.jobs import tally_job

NOW = 1795440000.0


def dead_job(i: int) -> bytes:
    job = json.loads(tally_job(f"r{i}"))
    job.update(error_message="boom", error_class="RuntimeError", failed_at=NOW - 60, retry_count=25)
    return json.dumps(job).encode()


def test_sizes_oldest_age_inspect_and_redrive(redis_url: str, redis_client: Any) -> None:
    queued = json.loads(tally_job("q1"))
    queued["enqueued_at"] = NOW - 42.5
    redis_client.lpush("queue:default", json.dumps(queued), tally_job("q2"))
    redis_client.zadd("retry", {tally_job("t1"): NOW + 30})
    dead = [dead_job(i) for i in range(3)]
    redis_client.zadd("dead", {member: NOW - i for i, member in enumerate(dead)})
    panel = RedisPipeline(redis_url, clock=lambda: NOW)

    sizes = panel.sizes()
    assert (sizes["queued"], sizes["retry"], sizes["dead"]) == (2, 1, 3)
    assert sizes["oldest_age_seconds"] == 42.5  # the tail of the list is the oldest job

    shown = panel.inspect(2)
    assert [m["error"] for m in shown] == ["boom", "boom"] and shown[0]["body"] == dead[0].decode()

    assert panel.redrive(2) == {"moved": 2, "failed": 0}
    assert redis_client.zcard("dead") == 1
    pushed = redis_client.lrange("queue:default", 0, 1)
    assert sorted(pushed) == sorted(dead[1:]), "a redriven job goes back byte for byte"
    assert panel.redrive(10) == {"moved": 1, "failed": 0} and panel.sizes()["dead"] == 0
