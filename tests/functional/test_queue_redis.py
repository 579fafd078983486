"""The Redis backend against a real redis-server: Sidekiq's exact layout."""

from typing import Any

import pytest

from tally_contract import envelope, queues
from tally_contract.errors import QueueUnavailable
from tally_contract.queues.redis_queue import RedisQueue
from tests.support.servers import free_port

CAPTURE = (
    '{"retry":true,"queue":"default","args":[1,"café/\u2028"],"class":"HardWorker",'
    '"jid":"3f673b6034ec126c1e9b153d","created_at":1795440775.7702684,"enqueued_at":1795440775.7702813}'
)


def test_push_is_sadd_queues_and_lpush_like_sidekiq(redis_url: str, redis_client: Any) -> None:
    jobs = [envelope.encode(envelope.build([{"n": i}])) for i in range(3)] + [CAPTURE]
    queue = queues.from_url(redis_url)
    assert queue.push("default", jobs) == []
    assert redis_client.smembers("queues") == {b"default"}
    # LPUSH puts the newest at the head; Sidekiq's BRPOP takes from the tail: FIFO.
    assert redis_client.lrange("queue:default", 0, -1) == [j.encode() for j in reversed(jobs)]
    assert redis_client.rpop("queue:default") == jobs[0].encode()


def test_large_pushes_go_in_slices_of_1000(redis_url: str, redis_client: Any) -> None:
    jobs = [envelope.encode(envelope.build([i])) for i in range(2500)]
    assert queues.from_url(redis_url).push("low", jobs) == []
    assert redis_client.llen("queue:low") == 2500
    assert redis_client.rpop("queue:low") == jobs[0].encode()


def test_monitor_shows_one_pipeline_per_slice(redis_url: str, redis_client: Any) -> None:
    seen: list[str] = []
    with redis_client.monitor() as monitor:
        queues.from_url(redis_url).push("default", [CAPTURE])
        for command in monitor.listen():
            seen.append(command["command"].split(" ")[0].upper())
            if seen[-1] == "LPUSH":
                break
    assert seen[-2:] == ["SADD", "LPUSH"]


def test_unreachable_redis_raises_queue_unavailable() -> None:
    queue = RedisQueue.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(QueueUnavailable):
        queue.ping()
    with pytest.raises(QueueUnavailable):
        queue.push("default", [CAPTURE])
