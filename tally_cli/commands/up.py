"""``tally up``: the whole pipeline on this machine."""

from typing import TYPE_CHECKING

import click

from tally_contract.signals import StopSignals

from ..config import STATE_FILE, read_state, state_dir
from ..errors import translated
from ..snippet import script_tag

if TYPE_CHECKING:
    from ..config import LocalState
    from ..local.pipeline import LocalPipeline


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for the API (and the emulator).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="API port.")
@click.option(
    "--data-dir", default=".tally", show_default=True, type=click.Path(file_okay=False),
    help="Where the SQLite store, the queue and the local site's credentials are kept.",
)  # fmt: skip
@click.option(
    "--queue", "queue_url", metavar="URL",
    help="Queue: redis://host:port/db (the Redis worker consumes it) or sqlite://<path>. "
    "Default: sqlite://<data dir>/queue.db; SQS with --aws-emulator.",
)  # fmt: skip
@click.option("--aws-emulator", is_flag=True, help="SQS and DynamoDB in moto (kept in memory), as on AWS.")
@click.option("--aws-port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Emulator port.")
@click.option("--stage", default="local", show_default=True, help="Stage in names (the API prefix, tally-<stage>-...).")
@click.option("--batch-size", type=click.IntRange(1, 10000), help="Jobs a batch (500; the emulator's SQS: 100).")
@click.option("--batch-window", default=1.0, show_default=True, type=click.FloatRange(0, 300),
              help="Seconds the emulator's SQS poller gathers a batch.")  # fmt: skip
@click.option(
    "--visibility-timeout", default=30, show_default=True, type=click.IntRange(1, 43200),
    help="Seconds a taken job stays hidden from other consumers if its worker dies (AWS: 360).",
)  # fmt: skip
@click.option("--rollup-interval", default=60.0, show_default=True, type=click.FloatRange(0.1), help="Seconds.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a line per batch and rollup; json: JSON lines and the EMF metric lines.")  # fmt: skip
@click.option("--jobs", multiple=True, metavar="MODULE",
              help="A module whose register(registry) adds job classes (repeatable): examples.pages.")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Log every request and the functions' info lines.")
def up(
    host: str,
    port: int,
    data_dir: str,
    queue_url: str | None,
    aws_emulator: bool,
    aws_port: int,
    stage: str,
    batch_size: int | None,
    batch_window: float,
    visibility_timeout: int,
    rollup_interval: float,
    log_format: str,
    jobs: tuple[str, ...],
    verbose: bool,
) -> None:
    """Run the whole pipeline locally until Ctrl-C.

    The Chalice routes on --port, a durable queue, the processor and the rollup every
    --rollup-interval seconds. By default everything is kept in SQLite files under --data-dir
    and survives a restart (the site, its keys, the dashboard password too); with
    --aws-emulator the pipeline runs on moto's SQS and DynamoDB instead, as on AWS, and
    nothing is kept (docs/local-mode.md).

    \b
      tally up
      tally up --queue redis://127.0.0.1:6379/0
      tally up --aws-emulator --port 8080
      tally up --jobs examples.pages --jobs examples.outbound
    """
    from ..local.emulator import EmulatorError
    from ..local.pipeline import LocalPipeline, Options
    from ..local.ports import PortBusy

    if queue_url and not queue_url.startswith(("redis://", "rediss://", "sqlite://", "sqs://")):
        raise click.BadParameter("must start with redis://, rediss://, sqlite:// or sqs://", param_hint="--queue")
    if queue_url and queue_url.startswith("sqs://") and not aws_emulator:
        raise click.BadParameter("an SQS queue needs --aws-emulator", param_hint="--queue")
    if (batch_size or 0) > 10 and aws_emulator and batch_window <= 0:
        raise click.BadParameter("a batch size above 10 needs a batch window above 0", param_hint="--batch-window")
    if read_state() is not None:
        raise click.ClickException(f"local mode is already running ({state_dir() / STATE_FILE}); stop it first")
    settings = Options(
        host=host, port=port, stage=stage, data_dir=data_dir, queue_url=queue_url, aws_emulator=aws_emulator,
        aws_port=aws_port, batch_size=batch_size, batch_window=batch_window, visibility_timeout=visibility_timeout,
        rollup_interval=rollup_interval, log_format=log_format, verbose=verbose, jobs=jobs,
    )  # fmt: skip
    pipeline = LocalPipeline(settings)
    # Not an Event set by the handler and waited on untimed: that missed SIGTERM whenever
    # another thread took it (tally_contract/signals.py).
    with StopSignals().installed() as signals:
        try:
            _start(pipeline)
            signals.wait()
            click.echo("stopping...", err=True)
        except (EmulatorError, PortBusy, OSError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            pipeline.stop()
    click.echo("stopped", err=True)


def _start(pipeline: "LocalPipeline") -> None:
    steps = 4 if pipeline.options.aws_emulator else 3
    with click.progressbar(length=steps, label="starting", show_eta=False) as bar:

        def step(label: str) -> None:
            bar.label = label
            bar.update(1)

        with translated("tally up"):
            state = pipeline.start(step)
    _announce(state, pipeline.options.aws_emulator, pipeline.options.data_dir)


def _announce(state: "LocalState", emulated: bool, data_dir: str) -> None:
    api_url, write_key = state.api_url, state.write_key
    secret = f"its secret key is in {state_dir() / STATE_FILE}" if state.secret_key else "secret key rotated elsewhere"
    kept = "the emulator's data goes with it" if emulated else f"everything is kept in {data_dir}/"
    click.echo(
        "\n".join(
            [
                "",
                f"ingest     POST {api_url}/events?key={write_key}",
                f"dashboard  {api_url}/dashboard/  (password {state.admin_password})",
                f"write key  {write_key}  (site '{state.site_id}'; {secret})",
                "snippet    " + script_tag(api_url, write_key),
                f"queue      {_shown(state.queue_url)}",
                "",
                "try        tally send --count 200 && tally stats",
                f"stop       Ctrl-C (or SIGTERM); {kept}",
                "",
            ]
        )
    )


def _shown(url: str) -> str:
    from ..config import redacted

    return redacted(url)
