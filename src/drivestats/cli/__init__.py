"""The command line: parse options, call one library function, print the result.

Commands live in sibling modules and are imported only when called, so that
``drivestats --help`` answers at once.
"""

from __future__ import annotations

import errno
import importlib
import sqlite3

import click

from drivestats import __version__, history
from drivestats.cli.common import home_option
from drivestats.errors import DrivestatsError

# command name -> "module:function" under drivestats.cli
COMMANDS = {
    "import": "store_commands:import_command",
    "sources": "store_commands:sources_command",
    "synth": "synth_commands:synth_command",
    "demo": "demo_commands:demo_command",
    "jobs": "job_commands:jobs_command",
    "show": "job_commands:show_command",
    "verify": "job_commands:verify_command",
    "gc": "job_commands:gc_command",
    "log": "job_commands:log_command",
    "movie": "movie_commands:movie_command",
    "frame": "movie_commands:frame_command",
    "afr": "rate_commands:afr_command",
    "survival": "rate_commands:survival_command",
    "board": "board_commands:board_command",
    "export": "export_commands:export_command",
    "fetch": "fetch_commands:fetch_command",
    "update": "fetch_commands:update_command",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def _load(self, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"drivestats.cli.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"drivestats.cli.{module_name}":
                return None  # a capability that has not landed yet
            raise
        return getattr(module, attr, None)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["drivestats.argv"] = list(args)  # the command as typed, for the log
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        run = history.start(ctx.meta.get("drivestats.argv", []))
        exit_code = 1
        try:
            result = super().invoke(ctx)
            exit_code = 0
            return result
        except SystemExit as stop:
            exit_code = stop.code if isinstance(stop.code, int) else 1
            raise
        except click.exceptions.Exit as stop:
            exit_code = stop.exit_code
            raise
        except DrivestatsError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            raise click.ClickException(os_error_message(error)) from None
        except sqlite3.OperationalError as error:
            raise click.ClickException(catalog_error_message(ctx, error)) from None
        finally:
            history.finish(run, exit_code)


def catalog_error_message(ctx: click.Context, error: sqlite3.OperationalError) -> str:
    """One line for the catalog's errors; a full disk reads as it does for any other file."""
    from drivestats.workspace import Workspace

    catalog = Workspace.resolve(ctx.obj).catalog
    text = str(error)
    if "full" in text or "disk I/O" in text:
        return os_error_message(OSError(errno.ENOSPC, text, str(catalog)))
    return f"{catalog}: {text}"


def os_error_message(error: OSError) -> str:
    """One line for an operating-system error: what happened, to which file, what to do."""
    where = f" while writing {error.filename}" if error.filename else ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (
            f"no space left on device{where} ({error.strerror or error}); what was stored "
            "before is unchanged: free some space and run the command again"
        )
    what = f"{error.filename}: " if error.filename else ""
    return f"{what}{error.strerror or error}"


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="drivestats")
@home_option
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Backblaze Drive Stats as assets: import, movie, failure rates, provenance, board."""
    ctx.obj = home


def main() -> None:
    from drivestats.pandas_free import keep_pandas_out

    keep_pandas_out()
    cli(prog_name="drivestats")


if __name__ == "__main__":
    main()
