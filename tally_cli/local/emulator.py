"""An embedded AWS (moto's threaded server) on 127.0.0.1, with infra/template.yaml deployed
into it through CloudFormation, so local mode runs the same queues and tables as AWS."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tally_contract.errors import TallyError

from .ports import PortBusy, ensure_free

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
REGION = "us-east-1"


class EmulatorError(TallyError):
    """The emulator did not start or the template did not deploy."""


@dataclass(frozen=True)
class Deployed:
    """The template's outputs, as local mode uses them."""

    events_queue_url: str
    dlq_url: str
    sites_table: str
    events_table: str
    aggregates_table: str
    auth_table: str


class Emulator:
    def __init__(self, port: int, *, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._server: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        try:
            ensure_free(self.host, self.port, "the AWS emulator")
        except PortBusy as exc:
            raise EmulatorError(str(exc)) from None
        linear_receive()
        serialized_writes()
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3

        from ..config import LOCAL_CREDENTIALS

        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client(service, endpoint_url=self.endpoint_url)

    def deploy(self, stage: str, *, visibility_timeout: int | None = None, timeout: float = 60.0) -> Deployed:
        """Create the stack from the template; optionally shorten the queue's visibility
        timeout (local mode's setting: failures come back sooner than the template's 360 s)."""
        cfn = self.client("cloudformation")
        stack = f"tally-{stage}"
        cfn.create_stack(
            StackName=stack,
            TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
            # The API stage name follows the stage, as in .chalice/config.json (local mode has no alarms).
            Parameters=[{"ParameterKey": k, "ParameterValue": stage} for k in ("Stage", "ApiStage")],
        )
        outputs = _wait_for_outputs(cfn, stack, timeout)
        deployed = Deployed(
            events_queue_url=outputs["EventsQueueUrl"],
            dlq_url=outputs["EventsDeadLetterQueueUrl"],
            sites_table=outputs["SitesTableName"],
            events_table=outputs["EventsTableName"],
            aggregates_table=outputs["AggregatesTableName"],
            auth_table=outputs["AuthTableName"],
        )
        if visibility_timeout is not None:
            self.client("sqs").set_queue_attributes(
                QueueUrl=deployed.events_queue_url, Attributes={"VisibilityTimeout": str(visibility_timeout)}
            )
        return deployed


def linear_receive() -> None:
    """moto 5 re-reads every queue attribute, counting all messages, for each message a
    ReceiveMessage looks at: quadratic in queue depth. Measured with moto 5.2.5 (a queue of
    2,000 messages of 500 bytes, 20 ReceiveMessage of 10, the same run): 0.96 s a receive
    stock, 0.019 s with this (50x), which is what lets local mode's processor keep up with a
    backlog at all. Reads the one attribute the check needs; the same check otherwise.
    Reproduce: ``python bench/moto_receive.py``."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def valid(backend: Any, queue_name: str, message: Any) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = valid  # type: ignore[method-assign,assignment]


def serialized_writes() -> None:
    """DynamoDB applies a conditional write atomically (no two writes to an item interleave);
    moto's threaded server checks the condition and writes in separate steps, so two requests
    could both pass one condition (about 1 round in 100 of 20 parallel claims). The login
    backoff relies on that atomicity: one lock around moto's item writes gives it back."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_tally_serialized", False):
        return
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def serialized(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialized)
    DynamoDBBackend._tally_serialized = True  # type: ignore[attr-defined]


def _wait_for_outputs(cfn: Any, stack: str, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = description["StackStatus"]
        if status == "CREATE_COMPLETE":
            return {item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])}
        if status.endswith(("FAILED", "ROLLBACK_COMPLETE")):
            raise EmulatorError(f"stack {stack}: {status} {description.get('StackStatusReason', '')}".strip())
        time.sleep(0.1)
    raise EmulatorError(f"stack {stack} not created within {timeout:.0f} s")
