"""Ingest settings, read once from the environment (``.chalice/config.json`` sets them per stage)."""

import os
from dataclasses import dataclass, field

from tally_contract.clientip import Network, parse_networks
from tally_contract.envelope import JobOptions


@dataclass(frozen=True)
class Settings:
    queue_url: str = "memory://"
    sites_table: str = ""
    aggregates_table: str = ""  # where the daily salts are; "" keeps them in memory (tests)
    store_url: str = ""  # sqlite://<path>: local mode's sites and salts live in its store's file
    stage: str = "dev"
    job: JobOptions = field(default_factory=JobOptions)
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    site_cache_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        return cls(
            queue_url=env.get("TALLY_QUEUE_URL", "memory://"),
            sites_table=env.get("TALLY_SITES_TABLE", ""),
            aggregates_table=env.get("TALLY_AGGREGATES_TABLE", ""),
            store_url=env.get("TALLY_STORE_URL", ""),
            stage=env.get("TALLY_STAGE", "dev"),
            job=JobOptions(
                job_class=env.get("TALLY_JOB_CLASS", "ProcessRequestJob"),
                queue=env.get("TALLY_JOB_QUEUE", "default"),
                activejob=_flag(env.get("TALLY_JOB_ACTIVEJOB")),
                millis=_flag(env.get("TALLY_JOB_MILLIS")),
            ),
            trusted_proxies=parse_networks(env.get("TALLY_TRUSTED_PROXIES", "")),
            site_cache_seconds=float(env.get("TALLY_SITE_CACHE_SECONDS", "60")),
        )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
