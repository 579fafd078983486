"""Local mode's export, end to end: `tally up` as a process, a server sender's events dated
two hours back (an hour already closed), the pipeline's own rollup schedule sealing and
exporting that hour under `.tally/export/`, and `tally query` (a second process, its default
directory) counting what was sent."""

import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.jobs import BOT, CHROME
from tests.support.local_up import cli_env
from tests.support.tally_up import tally_up
from tests.support.waiting import wait_for

SQL = "SELECT count(*) AS n, count(*) FILTER (WHERE bot) AS bots, count(DISTINCT path) AS pages FROM events"


def test_tally_up_exports_sealed_hours_that_tally_query_reads(tmp_path: Path) -> None:
    with tally_up(tmp_path) as running:
        site = running.add_site("exp")
        hour = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=5, second=0, microsecond=0)
        batch = [{"url": f"https://shop.example.com/p{i % 4}", "time": (hour + timedelta(minutes=i)).isoformat(),
                  "ip": f"198.51.100.{i % 7}", "user_agent": BOT if i % 5 == 0 else CHROME}
                 for i in range(30)]  # fmt: skip
        request = urllib.request.Request(
            f"{running.api}/events?key={site.site.write_key}", data=json.dumps({"batch": batch}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {site.secret_key}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
        running.wait_stored("exp", 30)
        exported = tmp_path / ".tally" / "export" / "events" / "site=exp" / f"date={hour:%Y-%m-%d}"

        def counted() -> str:
            if not list(exported.glob("hour=*/*.ndjson.gz")):
                return ""
            command = [sys.executable, "-m", "tally_cli", "query", "--csv", f"{SQL} WHERE site = 'exp'"]
            done = subprocess.run(command, env=cli_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                                  timeout=60)  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert wait_for(lambda: counted() == "n,bots,pages\n30,6,4\n", 120, "the hour exported", interval=0.5)
        (path,) = exported.glob("hour=*/*.ndjson.gz")
        assert path.name == f"exp-{hour:%Y-%m-%dT%H}.ndjson.gz"
