"""The HTTP edge: validate tracking events and queue them as Sidekiq jobs. Nothing else."""
