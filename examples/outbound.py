"""PostRecordJob: look a record up by id and send it to an external HTTP API (the seeds' tweet
worker), retried on failure with Sidekiq's semantics.

``PostRecordJob(record_id)``: the job carries only the id (the record may change or vanish
before the job runs); it reads the record, POSTs it as JSON to the API, and marks it posted.
- The API is down, slow or answers 5xx/429: the job raises, and the worker retries it on
  Sidekiq's schedule (``retry_count**4 + 15 + rand(10) * (retry_count + 1)`` seconds), then
  puts it in the dead set after the job's ``retry`` attempts (Sidekiq's default 25).
- The API refuses the request (another 4xx) or the record is gone: retrying cannot help; the
  job fails without retry and goes to the dead set at once, with the reason.
- Every attempt carries ``Idempotency-Key: <jid>``, so an API that honours it posts once even
  when a redelivery (a worker killed after the call, before its acknowledgement) sends again;
  a record already marked posted is not sent again.
Records live in a directory of JSON files (one per id), written whole.
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from processor_lambda.registry import Registry
from processor_lambda.results import JobFailed
from tally_contract import envelope
from tally_contract.envelope import Job, JobOptions
from tally_contract.errors import TallyError
from tally_contract.queues import Queue

from .files import write_whole

JOB_CLASS = "PostRecordJob"
DIRECTORY = "TALLY_EXAMPLE_RECORDS"
API_URL = "TALLY_EXAMPLE_API"
TIMEOUT = 10.0


class ApiUnavailable(TallyError):
    """The API did not take the record this time (a retry may)."""


class Records:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def put(self, record_id: int, record: dict[str, Any]) -> None:
        write_whole(self.root / f"{record_id}.json", json.dumps({"record": record, "posted": None}))

    def get(self, record_id: int) -> dict[str, Any] | None:
        path = self.root / f"{record_id}.json"
        return dict(json.loads(path.read_text())) if path.exists() else None

    def mark_posted(self, record_id: int, answer: Any) -> None:
        found = self.get(record_id)
        if found is not None:
            write_whole(self.root / f"{record_id}.json", json.dumps({**found, "posted": answer}))


def post_record(records: Records, api_url: str, record_id: Any, jid: str) -> None:
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise JobFailed("PostRecordJob takes one record id", retryable=False)
    found = records.get(record_id)
    if found is None:
        raise JobFailed(f"record {record_id} does not exist", retryable=False)
    if found["posted"] is not None:
        return  # a redelivered job: sent already
    body = json.dumps({"id": record_id, **found["record"]}).encode()
    if not api_url.startswith(("http://", "https://")):
        raise JobFailed(f"{API_URL} must be an http(s) URL")
    headers = {"Content-Type": "application/json", "Idempotency-Key": jid}
    request = urllib.request.Request(api_url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the operator's API URL
            answer = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise ApiUnavailable(f"the API answered {exc.code}") from None
        raise JobFailed(f"the API refused record {record_id}: {exc.code}", retryable=False) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise ApiUnavailable(f"the API is unreachable: {exc}") from None
    records.mark_posted(record_id, answer)


def register(registry: Registry, records: Records | None = None, api_url: str | None = None) -> None:
    where = records or Records(Path(os.environ.get(DIRECTORY, ".tally/records")))
    url = api_url or os.environ.get(API_URL, "")

    def handle(arguments: list[Any], job: Job) -> None:
        if not url:
            raise JobFailed(f"set {API_URL} to the API's URL")  # retried: the operator may set it
        post_record(where, url, arguments[0] if len(arguments) == 1 else None, job.jid)

    registry.register(JOB_CLASS, handle)


def enqueue(queue: Queue, record_id: int, *, retry: int | bool = True) -> str:
    """One Sidekiq job for the record; returns its jid."""
    job = envelope.build([record_id], JobOptions(job_class=JOB_CLASS), extra={"retry": retry})
    if queue.push("default", [envelope.encode(job)]):
        raise JobFailed(f"the queue did not take {JOB_CLASS}({record_id})")
    return str(job["jid"])
