"""Cold-start baseline, run as a fresh process: the least a Python Lambda that sends to SQS does.

Nothing from the repo is imported. The clock starts before any import.
"""

import time

STARTED = time.perf_counter()


def main() -> None:
    import boto3

    imported = time.perf_counter() - STARTED
    boto3.client("sqs")
    elapsed = time.perf_counter() - STARTED
    import json

    print("BENCH_RESULT " + json.dumps({"elapsed": elapsed, "import": imported}), flush=True)


main()
