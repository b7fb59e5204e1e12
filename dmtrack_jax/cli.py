"""The `dmtrack` command line.

A thin dispatcher: each subcommand lives in the module that owns the work and exposes
`register(subparsers)`, which adds its parser and sets `func`. Modules are named here as
strings so that `dmtrack_jax` itself never imports `data_pipelines` or `eval` (the data flow
runs one way); a subcommand whose module is not installed is simply not listed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

# The host-side association multiplies small matrices every frame; a multi-threaded BLAS turns
# a 0.04 ms product into 6-20 ms on a busy machine. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Subcommand modules, in the order `dmtrack --help` lists them.
SUBCOMMAND_MODULES = (
    "data_pipelines.cli",  # synth
    "dmtrack_jax.train.cli",  # train
    "dmtrack_jax.tracking.cli",  # track
    "eval.cli",  # eval
    "dmtrack_jax.convert.cli",  # convert
    "dmtrack_jax.demo",  # demo
)


class UserError(Exception):
    """An error caused by the user's input: printed as one line, without a traceback."""


def _load_subcommands(subparsers) -> None:
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # Only skip modules that do not exist yet; a broken import inside one is a bug.
            if err.name is not None and module_name.startswith(err.name):
                continue
            raise
        module.register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmtrack",
        description=(
            "DMTrack in JAX/Flax: distractor-aware global-search tracking with dynamic "
            "convolutions and MOT-style association."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _load_subcommands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # Subcommands that take `--config.x=y` overrides receive the unparsed rest.
    if unknown and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.overrides = list(unknown)
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as err:
        if os.environ.get("DMTRACK_DEBUG"):
            raise
        print(f"dmtrack {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
