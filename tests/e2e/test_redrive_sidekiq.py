"""A dead job redriven by Tally, read back through the real Sidekiq 6.4.1's API.

The job dies in Tally's worker after failing on its ``retry_queue`` (``low``, a queue nothing
ever pushed to, so ``queues`` does not name it). Redriven from the dashboard's pipeline panel or
with ``tally dlq redrive``, it must be where Sidekiq looks: ``Sidekiq::Queue.all`` lists only
the queues in ``queues``, and its Web UI with it.
"""

from collections.abc import Callable
from typing import Any

import pytest

from dashboard.pipeline_edge import RedisPipeline
from processor_lambda.pipeline import Pipeline
from processor_lambda.registry import Registry
from processor_lambda.results import JobFailed
from redis_worker.worker import Worker
from tally_ops.dlq_redis import RedisDeadLetters
from tally_ops.redis_side import RedisSide
from tests.support.sidekiq_ruby import require_sidekiq, ruby

pytestmark = pytest.mark.slow
PUSH = 'puts Sidekiq::Client.push("class" => "HardWorker", "args" => [7], "retry" => 0, "retry_queue" => "low")'
READ = """
require "sidekiq/api"
puts Sidekiq::Queue.all.map(&:name).sort.inspect
Sidekiq::Queue.new("low").each { |j| puts [j.jid, j.klass, j.args, j["error_class"], j["error_message"]].inspect }
puts [Sidekiq::Stats.new.queues, Sidekiq::DeadSet.new.size].inspect
"""


def _dashboard(url: str, client: Any) -> int:
    return RedisPipeline(url, client=client).redrive(10)["moved"]


def _ops(url: str, client: Any) -> int:
    return RedisDeadLetters(RedisSide(client)).redrive()


def _fail(arguments: list[Any], job: Any) -> None:
    raise JobFailed("no such mailbox", retryable=False)


@pytest.mark.parametrize("redrive", [_dashboard, _ops], ids=["dashboard", "tally-dlq"])
def test_a_redriven_job_is_in_a_queue_sidekiq_lists(
    redis_url: str, redis_client: Any, redrive: Callable[[str, Any], int]
) -> None:
    require_sidekiq()
    (jid,) = ruby(redis_url, "plain", "-e", PUSH)
    registry = Registry()
    registry.register("HardWorker", _fail)
    assert Worker(redis_client, Pipeline(registry), identity="redrive:1:0123456789ab").work_once() == 1
    (member,) = redis_client.zrange("dead", 0, -1)
    assert redis_client.smembers("queues") == {b"default"}, "the job died on its retry_queue, never pushed to"

    assert redrive(redis_url, redis_client) == 1

    assert redis_client.lrange("queue:low", 0, -1) == [member], "redriven byte for byte"
    names, job, stats = ruby(redis_url, "plain", "-e", READ)
    assert names == '["default", "low"]'
    assert job == f'["{jid}", "HardWorker", [7], "processor_lambda.results.JobFailed", "no such mailbox"]'
    assert stats == '[{"low"=>1, "default"=>0}, 0]'  # Stats#queues reads the `queues` set too
