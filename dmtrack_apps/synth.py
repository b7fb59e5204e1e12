"""`dmtrack synth`: write a synthetic long-term tracking dataset in a real layout.

    dmtrack synth --out DIR --format lasot --sequences 8 --frames 60 --seed 0
    dmtrack synth --out DIR --format lasot --sequences 8 --frames 1000 --preset lasot-like

`--preset default` (the default): short busy videos, one occlusion, one out-of-view period and
one crossing each (the earlier model's training data). `--preset lasot-like`: long videos with
the motion, absence and scale statistics of LaSOT's test set (`data_pipelines.synthetic_lasot`;
use 600+ frames; the shipped model's training data).
"""

from __future__ import annotations

import argparse
import os

from data_pipelines import writers
from data_pipelines.synthetic import PRESETS

NAME = "synth"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        NAME,
        help="write a synthetic dataset with hard distractors, occlusions and out-of-view periods",
        description=(
            "Generate reproducible synthetic videos (textured target, look-alike distractors, "
            "occluders, out-of-view periods, camera shake) and write them in the layout of a "
            "real dataset."
        ),
    )
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--format", required=True, choices=sorted(writers.WRITERS), help="dataset layout")
    parser.add_argument("--sequences", type=int, required=True, help="number of videos")
    parser.add_argument("--frames", type=int, required=True, help="frames per video")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--height", type=int, default=160, help="frame height (default 160)")
    parser.add_argument("--width", type=int, default=224, help="frame width (default 224)")
    parser.add_argument("--distractors", type=int, default=3, help="distractors per video (default 3)")
    parser.add_argument("--preset", choices=PRESETS, default="default",
                        help="generator preset: 'default' (short busy videos) or 'lasot-like' "
                             "(LaSOT's motion/absence/scale statistics; use 600+ frames)")
    parser.add_argument(
        "--absent-box",
        choices=("zeros", "nan"),
        default="zeros",
        help="how absent-target rows are written in box files (lasot/got10k/trackingnet)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.sequences < 1:
        raise ValueError(f"--sequences must be >= 1, got {args.sequences}")
    if args.frames < 2:
        raise ValueError(f"--frames must be >= 2, got {args.frames}")
    if args.distractors < 0:
        raise ValueError(f"--distractors must be >= 0, got {args.distractors}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"--out {args.out} exists and is not a directory")
    if os.path.isdir(args.out) and os.listdir(args.out):
        # Writing over an earlier set would mix its frames, rows and lists with this one's.
        raise ValueError(f"--out {args.out} exists and is not empty; give a new folder")
    options = {}
    if args.format in ("lasot", "got10k", "trackingnet"):
        options["absent_box"] = args.absent_box
    if args.format == "lasot":  # training's default split reads this list (no official names)
        options["training_set"] = True
    written = writers.write_dataset(
        args.out,
        args.format,
        args.sequences,
        args.frames,
        args.seed,
        image_size=(args.height, args.width),
        num_distractors=args.distractors,
        progress=True,
        preset=args.preset,
        **options,
    )
    print(f"wrote {args.sequences} {args.format} sequences ({len(written)} entries) to {args.out}")
    return 0
