"""The ``tally`` command. Subcommands load on first use (LazyGroup), so ``tally --help`` and
every command start without importing what the other commands need."""

import importlib
from typing import Any

import click

from . import config

# name -> "module:attribute". Each module is imported only when its command runs or is listed
# with its help text.
COMMANDS = {
    "up": "tally_cli.commands.up:up",
    "send": "tally_cli.commands.send:send",
    "worker": "tally_cli.commands.worker:worker",
    "sites": "tally_cli.commands.sites:sites",
    "stats": "tally_cli.commands.stats:stats",
    "export": "tally_cli.commands.export:export",
    "query": "tally_cli.commands.query:query",
    "queue": "tally_cli.commands.queue:queue",
    "rollup": "tally_cli.commands.rollup:rollup",
    "store": "tally_cli.commands.store:store",
    "dlq": "tally_cli.commands.dlq:dlq",
    "drain": "tally_cli.commands.drain:drain",
    "dashboard": "tally_cli.commands.dashboard:dashboard",
    "users": "tally_cli.commands.accounts:users",
    "tokens": "tally_cli.commands.accounts:tokens",
}


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"auto_envvar_prefix": "TALLY", "help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    envvar="TALLY_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"TOML file of per-command defaults (default {config.DEFAULT_CONFIG}).",
)
@click.version_option("0.1.0", prog_name="tally")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Tally: run the event pipeline locally, send traffic, manage sites, read stats.

    Settings come from flags, then TALLY_<COMMAND>_<OPTION> environment variables, then the
    config file ([up], [send], [sites.add], ... tables), e.g.:

    \b
      tally up                      # the whole pipeline on this machine
      tally send --count 500        # synthetic traffic to it
      tally stats --last 30         # what got counted
    """
    ctx.default_map = config.load(config_path)
