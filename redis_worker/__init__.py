"""The Redis worker: the SQS Lambda's processing pipeline run over Sidekiq's Redis queues.

``python -m redis_worker`` or ``tally worker``. ``worker`` runs the threads and the lifecycle,
``fetch`` moves jobs in and out of Redis reliably, ``batch`` turns the pipeline's results into
outcomes, ``failures`` writes failed jobs as Sidekiq does, ``process`` keeps Sidekiq's process
entry, and ``processing`` builds the pipeline. Sidekiq's key names and Lua scripts are in
``tally_contract/sidekiq_redis.py``, shared with ingest, ``tally_ops`` and the dashboard.
"""
