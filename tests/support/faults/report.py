"""Print the figures the fault scenarios wrote (test-artifacts/faults/*.json) as a table.

python -m tests.support.faults.report
"""

import json
import sys

from tests.support.faults.ledger import FULL_ARTIFACTS

COLUMNS = (
    "sent",
    "accepted",
    "rejected",
    "stored_unique",
    "extra_copies",
    "dead_lettered",
    "client_retries",
    "sealed_total",
)


def main() -> int:
    folder = FULL_ARTIFACTS.with_name("faults-small") if "--small" in sys.argv else FULL_ARTIFACTS
    rows = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    if not rows:
        print(f"no figures in {folder}: run the scenarios first", file=sys.stderr)
        return 1
    print(f"{'scenario':30}" + "".join(f"{c:>15}" for c in COLUMNS) + "  balanced  (scale)")
    for row in rows:
        balanced = row["sent"] == row["accepted"] + row["rejected"] and row["accepted"] == (
            row["stored_unique"] + row["dead_lettered"]
        )
        cells = "".join(f"{row.get(c, '-')!s:>15}" for c in COLUMNS)
        print(f"{row['scenario']:30}{cells}  {'yes' if balanced else 'NO':8}  ({row['scale']})")
        extra = {k: v for k, v in row.items() if k not in (*COLUMNS, "scenario", "scale") and v not in ({}, None)}
        print(f"{'':30}{json.dumps(extra, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
