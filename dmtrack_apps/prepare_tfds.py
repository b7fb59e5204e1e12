"""`dmtrack prepare-tfds --source S --manual_dir ROOT --data_dir OUT [--split SPLIT]`.

Converts one training source, read from its official layout, into the tfds ArrayRecord
datasets of `data_pipelines.tfds_builders` (encoded frames kept byte for byte); point the data
config's `sources.<S>.tfds_dir` at OUT afterwards.
"""

from __future__ import annotations

import argparse

from data_pipelines.tfds_builders import TFDS_SOURCES, prepare_tfds


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "prepare-tfds", help="convert a training source to tfds ArrayRecord (no TensorFlow)")
    p.add_argument("--source", required=True, choices=TFDS_SOURCES)
    p.add_argument("--manual_dir", required=True, help="dataset root in its official layout")
    p.add_argument("--data_dir", required=True, help="where the tfds datasets are written")
    p.add_argument("--split", default=None,
                   help="reader split (default: the official training split, e.g. LaSOT's "
                        "1,120 training sequences; 'all' for every sequence)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = prepare_tfds(args.source, args.manual_dir, args.data_dir, args.split, progress=True)
    print(f"prepared {args.source} as tfds ArrayRecord in {path}; set "
          f"sources.{args.source}.tfds_dir={args.data_dir} in the data config")
    return 0
