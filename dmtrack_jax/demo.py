"""`dmtrack demo`: the end-to-end demonstration (synthetic benchmark, tracking, scoring)."""

from __future__ import annotations


def run(args) -> int:
    print(
        "dmtrack demo: the end-to-end demo (synthetic distractor benchmark, tracking with the "
        "shipped tiny model, scores and plots) arrives with issue 8; the network is in place."
    )
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the end-to-end demo on synthetic data")
    parser.set_defaults(func=run)
