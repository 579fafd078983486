"""One moto server, in its own process, for a whole bench run.

Its own process so that the in-process CPU figures (``time.process_time`` counts every thread)
measure the handler, not the server. It holds the ingest's sites table and queues, built from
infra/template.yaml for stage ``bench``, and one site whose write key the requests carry.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
STAGE = "bench"
QUEUE_URL = f"sqs://tally-{STAGE}-events"
SITES_TABLE = f"tally-{STAGE}-sites"
AGGREGATES_TABLE = f"tally-{STAGE}-aggregates"  # ingest reads the day's visitor-id salt there
ORIGIN = "https://bench.example.com"
PYCACHE = ROOT / "bench" / "results" / "pycache"


class BenchError(RuntimeError):
    """The bench could not measure what it set out to (a failed request, a lost message)."""


@dataclass
class MockAws:
    endpoint: str
    env: dict[str, str]  # what a Lambda process would see: endpoint, fake credentials, Tally settings
    write_key: str
    queues: dict[str, str]  # logical id in infra/template.yaml -> queue URL

    @property
    def sqs_url(self) -> str:
        return self.queues["EventsQueue"]

    def sqs(self) -> Any:
        from tally_contract import aws

        return aws.client("sqs")

    def queue_depth(self) -> int:
        attrs = self.sqs().get_queue_attributes(QueueUrl=self.sqs_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

    def empty_queue(self, expected: int) -> None:
        """Check the queue holds ``expected`` messages, then recreate it empty. moto's
        SendMessageBatch slows down linearly with queue depth, so long runs must not let it grow."""
        from tests.support.infra import create_queues

        depth = self.queue_depth()
        if depth != expected:
            raise BenchError(f"SQS holds {depth} messages, expected {expected}")
        for url in self.queues.values():
            self.sqs().delete_queue(QueueUrl=url)
        self.queues = create_queues(self.sqs(), STAGE)


def lambda_env(endpoint: str) -> dict[str, str]:
    """The parent's environment with AWS pointed at moto, nothing from ~/.aws, and the
    function's settings as a deployed stage has them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TALLY_", "POWERTOOLS_"))}
    # Bytecode cached for both sides alike, outside the source tree (even if the shell sets
    # PYTHONDONTWRITEBYTECODE): the first, discarded run of each side fills it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        TALLY_QUEUE_URL=QUEUE_URL,
        TALLY_SITES_TABLE=SITES_TABLE,
        TALLY_AGGREGATES_TABLE=AGGREGATES_TABLE,
        TALLY_STAGE=STAGE,
        POWERTOOLS_METRICS_NAMESPACE="Tally",  # as .chalice/config.json sets them for prod
        POWERTOOLS_LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    return env


@contextmanager
def moto_server() -> Iterator[str]:
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if binary is None:
        raise BenchError("moto_server not found: run `make install`")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, proc, "moto_server", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def mock_aws() -> Iterator[MockAws]:
    """Start moto, point this process at it (as the children will be) and build the resources."""
    from tally_contract import aws, sites
    from tally_contract.sites_dynamodb import DynamoSites
    from tests.support.infra import create_queues, create_table

    with moto_server() as endpoint:
        saved, env = dict(os.environ), lambda_env(endpoint)
        os.environ.clear()
        os.environ.update(env)
        aws.reset()
        try:
            create_table(aws.client("dynamodb"), STAGE, "SitesTable")
            create_table(aws.client("dynamodb"), STAGE, "AggregatesTable")
            urls = create_queues(aws.client("sqs"), STAGE)
            # By URL, sparing the first request a GetQueueUrl (the stages still name it; docs/benchmarks.md).
            env["TALLY_QUEUE_URL"] = "sqs://" + urls["EventsQueue"]
            created = sites.create("bench", origins=(ORIGIN,), domain=ORIGIN.partition("://")[2])
            DynamoSites(SITES_TABLE).put(created.site)
            yield MockAws(endpoint, env, created.site.write_key, urls)
        finally:
            aws.reset()
            os.environ.clear()
            os.environ.update(saved)
