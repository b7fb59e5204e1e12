"""The `dmtrack` command line: a thin dispatcher over the entry points of `dmtrack_apps`.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets `func`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

# The host-side association multiplies small matrices every frame; a multi-threaded BLAS turns
# a 0.04 ms product into 6-20 ms on a busy machine. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from dmtrack_apps import (convert, demo, evaluate, prepare_tfds, synth, track,  # noqa: E402
                          train)
from dmtrack_apps.errors import UserError  # noqa: E402

# The subcommand modules, in the order `dmtrack --help` lists them.
SUBCOMMANDS = (synth, prepare_tfds, train, track, evaluate, convert, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmtrack",
        description=(
            "DMTrack in JAX/Flax: distractor-aware global-search tracking with dynamic "
            "convolutions and MOT-style association."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
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
