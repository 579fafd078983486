"""Batch processing: decode jobs, store events, keep aggregates (see issue 3)."""
