"""The `rlbox` command line. Bad input is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort, TyperException

from rlbox.errors import RlboxError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="rlbox: train, evaluate and compare reinforcement-learning agents.",
)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args or ["--help"], standalone_mode=False, prog_name="rlbox")
    except RlboxError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except TyperException as error:  # usage errors: unknown option, a value of the wrong type
        typer.echo(f"error: {error.format_message()}", err=True)
        sys.exit(2)
    except Abort:
        sys.exit(130)
    if isinstance(code, int) and code:
        if code == 130:
            typer.echo("interrupted; continue with: rlbox train --resume RUN_DIR", err=True)
        sys.exit(code)
