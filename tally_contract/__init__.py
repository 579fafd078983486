"""The contract both Lambdas share: the event model, the Sidekiq job envelope, the queues.

Nothing here imports ``ingest_lambda`` or ``processor_lambda``; submodules are imported on
demand so a caller pays only for what it uses (the ingest cold start counts every import).
"""
