"""A Redis worker in its own process, for the kill and stop tests (tests/e2e/test_worker_process.py).

    python -m tests.support.worker_child REDIS_URL IDENTITY SLEEP [BATCH]

Runs ``run_worker`` with a fake pipeline that sleeps ``SLEEP`` seconds per batch, then records
the jid of every job it processed with RPUSH ``test:processed`` (so a job killed before the
record is not counted as done). Short heartbeat and recovery intervals keep the tests fast.
"""

import json
import sys
import time
from collections.abc import Sequence

import redis

from processor_lambda.results import RecordResult
from redis_worker.worker import run_worker

PROCESSED = "test:processed"


class SlowRecordingPipeline:
    def __init__(self, client: redis.Redis, pause: float) -> None:
        self.client = client
        self.pause = pause

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        time.sleep(self.pause)
        self.client.rpush(PROCESSED, *(json.loads(body)["jid"] for body in bodies))
        return [RecordResult.success()] * len(bodies)


def main(argv: Sequence[str]) -> int:
    url, identity, pause = argv[0], argv[1], float(argv[2])
    batch = int(argv[3]) if len(argv) > 3 else 50
    client = redis.Redis.from_url(url)
    return run_worker(
        client,
        SlowRecordingPipeline(client, pause),
        identity=identity,
        batch_size=batch,
        heartbeat_ttl=1.0,
        beat_interval=0.2,
        poll_interval=0.5,
        recovery_interval=0.3,
        block_timeout=0.2,
        shutdown_timeout=5.0,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
