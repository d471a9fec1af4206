"""The `rlbox` command line: the app and its error handling (app), one module per command group.
Bad input is one line on stderr and exit code 2, never a traceback."""

# Each module registers its commands on `app`; `rlbox --help` lists them in this order.
# isort: off
from rlbox.cli import runs, grids, tune, catalog  # noqa: F401
from rlbox.cli.app import app, main

# isort: on

__all__ = ["app", "main"]
