"""The pipeline the worker runs: the SQS Lambda's (``processor_lambda.pipeline``), built here.

The one place the worker constructs the processor (store, tables, site settings), from
settings named as the Lambda's environment variables (docs/operations.md).
"""

import os
from collections.abc import Mapping

from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
from processor_lambda.registry import Registry


def build_pipeline(registry: Registry | None = None, settings: Mapping[str, str] = os.environ) -> Pipeline:
    """``settings``: ``TALLY_EVENTS_TABLE``, ``TALLY_AGGREGATES_TABLE``, ``TALLY_SITES_TABLE``,
    or ``TALLY_STORE_URL`` (``sqlite://<path>``: store and sites in that file, local mode's);
    optionally ``TALLY_DEFAULT_SITE``. ``registry`` may hold the user's own jobs."""
    import tally_store
    from processor_lambda.request_job import RequestProcessor, SiteSettings
    from tally_contract.sites import open_sites
    from tally_store.dynamodb import DynamoDBStore

    registry = registry or Registry()
    url = settings.get("TALLY_STORE_URL", "")
    store = tally_store.from_url(url) if url else DynamoDBStore(settings["TALLY_EVENTS_TABLE"],
                                                                 settings["TALLY_AGGREGATES_TABLE"])  # fmt: skip
    sites = SiteSettings(open_sites(url, settings.get("TALLY_SITES_TABLE", "")).by_id)
    processor = RequestProcessor(store, sites, default_site=settings.get("TALLY_DEFAULT_SITE") or None)
    registry.register_batch(PROCESS_REQUEST_JOB, processor)
    return Pipeline(registry)
