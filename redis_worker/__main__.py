"""The worker's command line (``tally worker`` is the same with the CLI's stage settings):

    python -m redis_worker --redis-url redis://host:6379/0 [--queue default]...
        [--batch-size 1000] [--concurrency 1] [--shutdown-timeout 25]

Tables come from the environment, as the SQS Lambda's do (docs/operations.md).
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from tally_contract.errors import QueueUnavailable
from tally_contract.sidekiq_redis import BEAT_PAUSE, DEFAULT_MAX_RETRIES

from .worker import DEFAULT_BATCH, MAX_BATCH, run_worker

logger = logging.getLogger("redis_worker")


def _batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_BATCH}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    default_url = os.environ.get("TALLY_QUEUE_URL", "")
    parser = argparse.ArgumentParser(
        prog="python -m redis_worker", description="Run the Tally pipeline over Sidekiq's Redis queues."
    )
    parser.add_argument(
        "--redis-url",
        default=default_url if default_url.startswith("redis") else None,
        required=not default_url.startswith("redis"),
    )
    parser.add_argument("--queue", action="append", dest="queues", help="repeat for several, highest priority first")
    parser.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH, help=f"jobs a batch, 1..{MAX_BATCH}")
    parser.add_argument("--concurrency", type=int, default=1, help="batches processed at once (threads)")
    parser.add_argument("--shutdown-timeout", type=float, default=25.0)
    parser.add_argument("--heartbeat-ttl", type=float, default=30.0)
    parser.add_argument("--poll-interval", type=float, default=5.0, help="retry/schedule poll, seconds on average")
    parser.add_argument("--recovery-interval", type=float, default=60.0)
    parser.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES)
    parser.add_argument("--tag", default="tally")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import redis

    from .processing import build_pipeline

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30)
    try:
        return run_worker(
            client,
            build_pipeline(),
            queues=args.queues or ["default"],
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            shutdown_timeout=args.shutdown_timeout,
            heartbeat_ttl=args.heartbeat_ttl,
            beat_interval=min(BEAT_PAUSE, args.heartbeat_ttl / 6),
            poll_interval=args.poll_interval,
            recovery_interval=args.recovery_interval,
            max_retries=args.max_retries,
            tag=args.tag,
        )
    except QueueUnavailable as exc:  # Redis down at start: one line, not a traceback
        logger.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
