"""The read side's query engine: Plausible's Stats API v2 queries (``POST /api/v2/query``)
answered exactly from the aggregates where they hold the answer, else from a bounded scan of
the raw events. Pure logic over the store protocol (tally_store.base); docs/dashboard.md."""
