"""Jobs of the seeds' app on Tally's job registry (processor_lambda/registry.py), runnable by
`tally up --jobs examples.pages --jobs examples.outbound` or any worker: each module has a
``register(registry)`` and a way to enqueue its job on any queue backend (docs/local-mode.md)."""
