"""Where Tally keeps raw events and aggregates, behind one small protocol (``base.Store``).

Logic (the processor, the counters, the rollup, the readers) speaks only the protocol's plain
Python types. Each adapter, named for its backend, holds everything its backend needs: every
request, expression and error code of DynamoDB lives in ``dynamodb*.py``; ``memory.py`` keeps
the same contract in dicts, for tests and as the proof that the seam holds.
"""
