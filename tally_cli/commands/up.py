"""``tally up``: the whole pipeline on this machine."""

from typing import TYPE_CHECKING

import click

from tally_contract.signals import StopSignals

from ..config import STATE_FILE, read_state, state_dir
from ..errors import translated
from ..snippet import script_tag

if TYPE_CHECKING:
    from ..local.pipeline import LocalPipeline


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for the API and the emulator.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="API port.")
@click.option("--aws-port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="AWS emulator port.")
@click.option("--stage", default="local", show_default=True, help="Stage in resource names (tally-<stage>-...).")
@click.option("--backend", type=click.Choice(["sqs", "redis"]), default="sqs", show_default=True)
@click.option("--redis-url", envvar="TALLY_REDIS_URL", help="Redis for --backend redis (redis://host:port/db).")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10000), help="Records a batch.")
@click.option("--batch-window", default=1.0, show_default=True, type=click.FloatRange(0, 300), help="Seconds.")
@click.option(
    "--visibility-timeout",
    default=30,
    show_default=True,
    type=click.IntRange(0, 43200),
    help="Seconds a failed batch stays hidden before it is retried (AWS: 360).",
)
@click.option("--rollup-interval", default=60.0, show_default=True, type=click.FloatRange(0.1), help="Seconds.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request, metric and batch.")
def up(
    host: str,
    port: int,
    aws_port: int,
    stage: str,
    backend: str,
    redis_url: str | None,
    batch_size: int,
    batch_window: float,
    visibility_timeout: int,
    rollup_interval: float,
    verbose: bool,
) -> None:
    """Run the whole pipeline locally until Ctrl-C.

    An AWS emulator (moto) with infra/template.yaml deployed through CloudFormation, the
    Chalice routes on --port, the SQS processor with Lambda's batching and retries, and the
    rollup every --rollup-interval seconds. Nothing is kept after it stops (docs/local-mode.md).

    \b
      tally up
      tally up --port 8080 --backend redis --redis-url redis://127.0.0.1:6379/0
    """
    from ..local.emulator import EmulatorError
    from ..local.pipeline import LocalPipeline, Options
    from ..local.ports import PortBusy

    if backend == "redis" and not redis_url:
        raise click.BadParameter("--backend redis needs --redis-url", param_hint="--redis-url")
    if batch_size > 10 and batch_window <= 0:
        raise click.BadParameter("a batch size above 10 needs a batch window above 0", param_hint="--batch-window")
    if read_state() is not None:
        raise click.ClickException(f"local mode is already running ({state_dir() / STATE_FILE}); stop it first")
    options = Options(
        host=host,
        port=port,
        aws_port=aws_port,
        stage=stage,
        backend=backend,
        redis_url=redis_url,
        batch_size=batch_size,
        batch_window=batch_window,
        visibility_timeout=visibility_timeout,
        rollup_interval=rollup_interval,
        verbose=verbose,
    )
    pipeline = LocalPipeline(options)
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
    with click.progressbar(length=4, label="starting", show_eta=False) as bar:

        def step(label: str) -> None:
            bar.label = label
            bar.update(1)

        with translated("tally up"):
            state = pipeline.start(step)
    _announce(state.api_url, state.write_key, state.admin_password)


def _announce(api_url: str, write_key: str, password: str) -> None:
    click.echo(
        "\n".join(
            [
                "",
                f"ingest     POST {api_url}/events?key={write_key}",
                f"dashboard  {api_url}/dashboard/  (password {password}, new each run)",
                f"write key  {write_key}  (site 'local'; its secret key is in {state_dir() / STATE_FILE})",
                "snippet    " + script_tag(api_url, write_key),
                "",
                "try        tally send --count 200 && tally stats",
                "stop       Ctrl-C (or SIGTERM); the emulator's data goes with it",
            ]
        )
    )
