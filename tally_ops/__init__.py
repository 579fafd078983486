"""Operator tools: move queued jobs between backends (drain) and inspect or redrive dead letters."""
