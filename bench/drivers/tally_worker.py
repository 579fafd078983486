"""Tally's Redis worker for bench/worker.py, in its own process (reliable fetch on, as always).

    python bench/drivers/tally_worker.py REDIS_URL light|full CONCURRENCY BATCH_SIZE

``light`` registers a ProcessRequestJob that reads the four fields, the same work as the Ruby
job; ``full`` runs the production pipeline (enrichment, DynamoDB writes, counters) against
the endpoint in ``AWS_ENDPOINT_URL``.
"""

import sys
from typing import Any

import redis

from processor_lambda.pipeline import Pipeline
from processor_lambda.registry import Registry
from redis_worker.processing import build_pipeline
from redis_worker.worker import run_worker


def read_four_fields(arguments: list[Any], _job: object) -> None:
    params = arguments[0]
    _ = (params["ip"], params["user_agent"], params["url"], params["time"])


def main(url: str, mode: str, concurrency: str, batch_size: str) -> int:
    registry = Registry()
    if mode == "light":
        registry.register("ProcessRequestJob", read_four_fields)
        pipeline = Pipeline(registry)
    else:
        pipeline = build_pipeline(registry)
    client = redis.Redis.from_url(url)
    return run_worker(client, pipeline, concurrency=int(concurrency), batch_size=int(batch_size),
                      shutdown_timeout=5.0, poll_interval=1.0, tag="bench")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
