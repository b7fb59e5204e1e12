"""OTB-100 (Wu et al., TPAMI 2015): `<root>/<Seq>/groundtruth_rect[.<k>].txt` (x,y,w,h per frame,
commas, tabs or spaces) and img/%04d.jpg.

Toolkit knowledge kept with the reader (the OTB toolkit's `configSeqs.m` sequence table, as
transcribed in visionml/pytracking, pytracking/evaluation/otbdataset.py, commit 7eb9e74):
two-target videos (groundtruth_rect.1.txt, .2.txt) become `<Seq>-1`, `<Seq>-2`; each folder's
toolkit range startFrame..endFrame (`OTB_FRAME_RANGES`): annotation row i is image
startFrame + i, and rows past endFrame are not scored (the image folders of David, Football1,
Freeman3, Freeman4 and Diving hold more images than the toolkit scores, cf. got-10k/toolkit
got10k/datasets/otb.py); Tiger1's first 5 annotated frames are omitted (`OTB_INIT_OMIT`, the
toolkit's initOmit), so it is scored on images 6-354. `present` is all True;
``extra["start_frame"]`` / ``extra["end_frame"]`` are the image numbers of the first / last
scored row (a result file may hold one row per scored frame, or one per image from image 1:
`eval.result_files.align_ope_result`). `split` is ignored.
"""

from __future__ import annotations

import pathlib

import numpy as np

from data_pipelines.datasets.parsing import frame_files, read_box_rows, resolve_root
from data_pipelines.sequence import Sequence

# (startFrame, endFrame) of every OTB-100 folder, from the OTB toolkit's configSeqs.m as listed
# in visionml/pytracking pytracking/evaluation/otbdataset.py (Jogging and Skating2 hold two
# targets with the same range).
OTB_FRAME_RANGES: dict[str, tuple[int, int]] = {
    "Basketball": (1, 725), "Biker": (1, 142), "Bird1": (1, 408), "Bird2": (1, 99),
    "BlurBody": (1, 334), "BlurCar1": (247, 988), "BlurCar2": (1, 585), "BlurCar3": (3, 359),
    "BlurCar4": (18, 397), "BlurFace": (1, 493), "BlurOwl": (1, 631), "Board": (1, 698),
    "Bolt": (1, 350), "Bolt2": (1, 293), "Box": (1, 1161), "Boy": (1, 602), "Car1": (1, 1020),
    "Car2": (1, 913), "Car24": (1, 3059), "Car4": (1, 659), "CarDark": (1, 393),
    "CarScale": (1, 252), "ClifBar": (1, 472), "Coke": (1, 291), "Couple": (1, 140),
    "Coupon": (1, 327), "Crossing": (1, 120), "Crowds": (1, 347), "Dancer": (1, 225),
    "Dancer2": (1, 150), "David": (300, 770), "David2": (1, 537), "David3": (1, 252),
    "Deer": (1, 71), "Diving": (1, 215), "Dog": (1, 127), "Dog1": (1, 1350), "Doll": (1, 3872),
    "DragonBaby": (1, 113), "Dudek": (1, 1145), "FaceOcc1": (1, 892), "FaceOcc2": (1, 812),
    "Fish": (1, 476), "FleetFace": (1, 707), "Football": (1, 362), "Football1": (1, 74),
    "Freeman1": (1, 326), "Freeman3": (1, 460), "Freeman4": (1, 283), "Girl": (1, 500),
    "Girl2": (1, 1500), "Gym": (1, 767), "Human2": (1, 1128), "Human3": (1, 1698),
    "Human4": (1, 667), "Human5": (1, 713), "Human6": (1, 792), "Human7": (1, 250),
    "Human8": (1, 128), "Human9": (1, 305), "Ironman": (1, 166), "Jogging": (1, 307),
    "Jump": (1, 122), "Jumping": (1, 313), "KiteSurf": (1, 84), "Lemming": (1, 1336),
    "Liquor": (1, 1741), "Man": (1, 134), "Matrix": (1, 100), "Mhyang": (1, 1490),
    "MotorRolling": (1, 164), "MountainBike": (1, 228), "Panda": (1, 1000), "RedTeam": (1, 1918),
    "Rubik": (1, 1997), "Shaking": (1, 365), "Singer1": (1, 351), "Singer2": (1, 366),
    "Skater": (1, 160), "Skater2": (1, 435), "Skating1": (1, 400), "Skating2": (1, 473),
    "Skiing": (1, 81), "Soccer": (1, 392), "Subway": (1, 175), "Surfer": (1, 376), "Suv": (1, 945),
    "Sylvester": (1, 1345), "Tiger1": (1, 354), "Tiger2": (1, 365), "Toy": (1, 271),
    "Trans": (1, 124), "Trellis": (1, 569), "Twinnings": (1, 472), "Vase": (1, 271),
    "Walking": (1, 412), "Walking2": (1, 500), "Woman": (1, 597),
}
# First annotated image number of the late-starting sequences (derived from the table).
OTB_START_FRAME = {name: start for name, (start, _) in OTB_FRAME_RANGES.items() if start != 1}
# Annotated frames the toolkit omits at the start (configSeqs.m `initOmit`).
OTB_INIT_OMIT = {"Tiger1": 5}


def _targets(folder: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    targets = []
    for path in sorted(folder.glob("groundtruth_rect*.txt")):
        parts = path.name.split(".")  # groundtruth_rect.txt or groundtruth_rect.2.txt
        suffix = parts[1] if len(parts) == 3 else ""
        targets.append((f"{folder.name}-{suffix}" if suffix else folder.name, path))
    return targets


def read_otb(root, split: str | None = None, *, with_frames: bool = True,
             names=None) -> list[Sequence]:
    """OTB targets in folder order, or `names` in that order (ValueError for unknown ones)."""
    root = resolve_root(root, "OTB")
    targets = [(name, folder, gt_path)
               for folder in sorted(p for p in root.iterdir() if p.is_dir())
               for name, gt_path in _targets(folder)]
    if not targets:
        raise FileNotFoundError(f"no OTB sequences (*/groundtruth_rect*.txt) under {root}")
    if names is not None:
        known = {t[0]: t for t in targets}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"unknown OTB sequence name(s) {missing[:5]}")
        targets = [known[n] for n in names]
    sequences = []
    for name, folder, gt_path in targets:
        omit = OTB_INIT_OMIT.get(folder.name, 0)
        first, last = OTB_FRAME_RANGES.get(folder.name, (1, None))
        gt = read_box_rows(gt_path)
        if last is not None:
            gt = gt[: last - first + 1]  # rows past the toolkit's endFrame are not scored
        gt = gt[omit:]
        start = first + omit
        frames = frame_files(folder / "img", range(start, start + len(gt)), 4, ".jpg",
                             with_frames)
        sequences.append(Sequence(name, "otb", frames, gt, np.ones(len(gt), bool),
                                  extra={"start_frame": start,
                                         "end_frame": start + len(gt) - 1}))
    return sequences
