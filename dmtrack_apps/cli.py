"""The `dmtrack` command line: a thin dispatcher over the entry points of `dmtrack_apps`.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets `func`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Sequence

# The host-side association multiplies small matrices every frame; a multi-threaded BLAS turns
# a 0.04 ms product into 6-20 ms on a busy machine. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from dmtrack_apps import (convert, demo, evaluate, prepare_tfds, synth, track,  # noqa: E402
                          train, vot)
from dmtrack_apps.errors import UserError  # noqa: E402

# The subcommand modules, in the order `dmtrack --help` lists them.
SUBCOMMANDS = (synth, prepare_tfds, train, track, evaluate, convert, demo, vot)


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


# Options whose value may start with a minus sign (`--box -20,10,100,100`: a box starting left
# of the frame); argparse would take such a value for an option, so it is glued to its flag.
NEGATIVE_VALUE_OPTIONS = ("--box",)
_NEGATIVE_VALUE = re.compile(r"^-\s*[\d.]")


def _glue_negative_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        if (items[i] in NEGATIVE_VALUE_OPTIONS and i + 1 < len(items)
                and _NEGATIVE_VALUE.match(items[i + 1])):
            out.append(f"{items[i]}={items[i + 1]}")
            i += 2
            continue
        out.append(items[i])
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = _glue_negative_values(sys.argv[1:] if argv is None else argv)
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
    except (UserError, ValueError, OSError) as err:
        # OSError: FileNotFoundError, and a disk that is full or a permission denied mid-run.
        if os.environ.get("DMTRACK_DEBUG"):
            raise
        print(f"dmtrack {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if os.environ.get("DMTRACK_DEBUG"):
            raise
        print(f"dmtrack {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - a bug: one line, the traceback on request
        if os.environ.get("DMTRACK_DEBUG"):
            raise
        print(f"dmtrack {args.command}: unexpected error: {type(err).__name__}: {err} "
              f"(run with DMTRACK_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
