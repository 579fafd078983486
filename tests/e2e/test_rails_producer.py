"""The seeds' architecture on one machine: a Rails app's ProcessRequestJob (the real Sidekiq
6.4.1 and ActiveJob 6.1 from Debian, four fields: ip, user_agent, url, time) pushed to the
Redis that `tally up --queue redis://` uses; Tally's Redis worker in `tally up` and a second
`tally worker` process share that Redis, and every job counts on the local site with no extra
setting. A job of a class no worker knows is retried on Sidekiq's schedule, not dead at once."""

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_up import cli_env, start_up, tally
from tests.support.sidekiq_ruby import enqueue, require_sidekiq, ruby
from tests.support.waiting import wait_for

__all__ = ["start_up"]
pytestmark = pytest.mark.slow
DAY = "2026-11-23"  # enqueue.rb's events happened on this day


def _day(tmp_path: Path) -> dict[str, Any]:
    stats = json.loads(tally(tmp_path, "stats", "--by", "d", "--last", "400", "--top", "10", "--json").stdout)
    point = next((p for p in stats["points"] if p["bucket"] == DAY), {"views": 0})
    return {"views": point["views"], "pages": {row["page"]: row["views"] for row in stats["top_pages"]}}


def test_rails_jobs_count_on_the_local_site_through_redis(
    start_up: Any, tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    require_sidekiq()
    proc, _ = start_up("--queue", redis_url)
    second = subprocess.Popen([sys.executable, "-m", "tally_cli", "worker", "--redis-url", redis_url],
                              env=cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        # Both workers are Sidekiq processes on that Redis (what Sidekiq's Web UI lists).
        wait_for(lambda: redis_client.scard("processes") == 2, 30, "two worker processes", proc)
        jids = enqueue(redis_url, "plain") + enqueue(redis_url, "activejob")
        assert len(jids) == 6
        ruby(redis_url, "plain", "-e", 'Sidekiq::Client.push("class" => "NewsletterJob", "args" => [42])')
        counted = wait_for(lambda: (day := _day(tmp_path))["views"] == 6 and day, 90, "6 Rails pageviews", proc)
        assert counted["pages"] == {f"/p{n}": 1 for n in range(1, 7)}
        wait_for(lambda: redis_client.zcard("retry") == 1, 30, "the unknown class in the retry set", proc)
        (member,) = redis_client.zrange("retry", 0, -1)
        job = json.loads(member)
        assert (job["class"], job["retry_count"], redis_client.zcard("dead")) == ("NewsletterJob", 0, 0)
        assert "no handler is registered" in job["error_message"]
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output
    assert redis_client.llen("queue:default") == 0
