"""OTB-100 (Wu et al., TPAMI 2015): `<root>/<Seq>/groundtruth_rect[.<k>].txt` (x,y,w,h per frame,
commas, tabs or spaces) and img/%04d.jpg.

Toolkit knowledge kept with the reader (the OTB toolkit's `configSeqs.m` / sequence table):
two-target videos (groundtruth_rect.1.txt, .2.txt) become `<Seq>-1`, `<Seq>-2`; sequences
whose annotation starts after image 1 map row i to image start + i (`OTB_START_FRAME`); Tiger1's
first 5 annotated frames are omitted (`OTB_INIT_OMIT`). `present` is all True;
``extra["start_frame"]`` is the image number of row 0. `split` is ignored.
"""

from __future__ import annotations

import pathlib

import numpy as np

from data_pipelines.datasets.parsing import frame_files, read_box_rows, resolve_root
from data_pipelines.sequence import Sequence

# First annotated image number of the late-starting sequences, and annotated frames the
# toolkit omits at the start.
OTB_START_FRAME = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
OTB_INIT_OMIT = {"Tiger1": 5}


def _targets(folder: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    targets = []
    for path in sorted(folder.glob("groundtruth_rect*.txt")):
        parts = path.name.split(".")  # groundtruth_rect.txt or groundtruth_rect.2.txt
        suffix = parts[1] if len(parts) == 3 else ""
        targets.append((f"{folder.name}-{suffix}" if suffix else folder.name, path))
    return targets


def read_otb(root, split: str | None = None, *, with_frames: bool = True, names=None,
             allow_negative_sizes: bool = False) -> list[Sequence]:
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
        gt = read_box_rows(gt_path, allow_negative_sizes=allow_negative_sizes)[omit:]
        start = OTB_START_FRAME.get(folder.name, 1) + omit
        frames = frame_files(folder / "img", range(start, start + len(gt)), 4, ".jpg",
                             with_frames)
        sequences.append(Sequence(name, "otb", frames, gt, np.ones(len(gt), bool),
                                  extra={"start_frame": start}))
    return sequences
