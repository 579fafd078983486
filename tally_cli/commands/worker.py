"""``tally worker``: the Redis worker (``redis_worker``) with the CLI's settings."""

import logging
import os

import click

from ..config import redacted, target


@click.command()
@click.option("--redis-url", envvar="TALLY_REDIS_URL", required=True, help="redis://host:port/db")
@click.option("--queue", multiple=True, default=["default"], show_default=True, help="Repeatable.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--shutdown-timeout", default=25.0, show_default=True, type=click.FloatRange(0))
@click.option("--stage", default=None, help="Tables of this AWS stage; default: the running local pipeline, else dev.")
@click.option("--store", "store_url", metavar="URL", help="A SQLite store instead (sqlite://<path>: its sites too).")
def worker(
    redis_url: str,
    queue: tuple[str, ...],
    batch_size: int,
    concurrency: int,
    shutdown_timeout: float,
    stage: str | None,
    store_url: str | None,
) -> None:
    """Consume Sidekiq's Redis queues with the processing pipeline until SIGTERM or Ctrl-C.

    \b
      tally worker --redis-url redis://127.0.0.1:6379/0 --concurrency 2
      tally worker --redis-url redis://127.0.0.1:6379/0 --store sqlite:///srv/tally/tally.db
    """
    import redis

    from redis_worker.processing import build_pipeline
    from redis_worker.worker import run_worker
    from tally_contract.errors import QueueUnavailable

    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise click.BadParameter("must start with redis://, rediss:// or unix://", param_hint="--redis-url")
    where = target(stage)
    if store_url and not store_url.startswith("sqlite://"):
        raise click.BadParameter("must start with sqlite:// (DynamoDB: --stage)", param_hint="--store")
    settings = {
        **os.environ,
        "TALLY_SITES_TABLE": where.sites_table,
        "TALLY_EVENTS_TABLE": where.events_table,
        "TALLY_AGGREGATES_TABLE": where.aggregates_table,
    }
    if store_url:
        settings["TALLY_STORE_URL"] = store_url
    elif where.store_url:  # beside `tally up`: its SQLite store, and its site for Rails producers' jobs
        settings.update(TALLY_STORE_URL=where.store_url, TALLY_DEFAULT_SITE=where.local.site_id if where.local else "")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach {redacted(redis_url)}: {exc}") from None
    try:
        code = run_worker(
            client,
            build_pipeline(settings=settings),
            queues=list(queue),
            batch_size=batch_size,
            concurrency=concurrency,
            shutdown_timeout=shutdown_timeout,
        )
    except QueueUnavailable as exc:  # Redis went away between the ping and the start
        raise click.ClickException(str(exc)) from None
    raise SystemExit(code)
