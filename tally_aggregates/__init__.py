"""Aggregates: what each event adds to the counters (counters.py), how the rollup seals
buckets exactly from the raw events (rollup.py), and how a reader chooses between sealed and
live numbers (reader.py). Pure logic over the store protocol (tally_store.base)."""
