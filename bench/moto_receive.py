"""moto's ReceiveMessage on a deep queue, stock and with local mode's linear_receive patch
(tally_cli/local/emulator.py quotes these figures): ``python bench/moto_receive.py [depth]``."""

import sys
import time


def per_receive(depth: int, patched: bool) -> float:
    import boto3
    from moto import mock_aws

    from tally_cli.local.emulator import linear_receive

    with mock_aws():
        if patched:
            linear_receive()
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for _ in range(depth // 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x" * 500} for i in range(10)])
        started = time.perf_counter()
        for _ in range(20):
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        return (time.perf_counter() - started) / 20


def main() -> None:
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    # The stock run first: the patch replaces moto's method for the rest of the process.
    stock, patched = per_receive(depth, False), per_receive(depth, True)
    print(f"depth {depth}: {stock:.4f} s a receive stock, {patched:.4f} s patched, {stock / patched:.0f}x")


if __name__ == "__main__":
    main()
