"""TrackingNet (Müller et al., ECCV 2018): `<root>/<chunk>/anno/<video>.txt` (x,y,w,h per frame,
comma or tab separated), frames `<root>/<chunk>/frames/<video>/<i>.jpg` numbered from 0.

`split`: "TRAIN" for every TRAIN_<k> chunk present (the training default,
`datasets.TRAINING_SPLITS`; TEST is scored by the server), None / "all" for every TRAIN_<k>/TEST
chunk present, or chunk names joined by commas ("TRAIN_0,TRAIN_1"). The TEST
chunk's annotation holds only the first box: its frame count comes from the frame folder.
TrackingNet has no absence labels, so `present` is all True (a NaN or zero-size row still makes
the training view `absent`). A negative x or y (the box starts left of / above the image) is
a valid box, usable for training (the augmentation clips it to the frame).
"""

from __future__ import annotations

import re

import numpy as np

from data_pipelines.datasets.parsing import (frame_files, frames_in_folder, read_box_rows,
                                             require_dir, resolve_root, select_names)
from data_pipelines.sequence import Sequence

_CHUNK = re.compile(r"TRAIN_\d+|TEST")


def read_trackingnet(root, split: str | None = None, *, with_frames: bool = True,
                     names=None) -> list[Sequence]:
    """TrackingNet sequences of the chunks in `split`, `names` (per chunk) in that order."""
    root = resolve_root(root, "TrackingNet")
    if split is None or split in ("all", "TRAIN"):
        chunks = sorted(c.name for c in root.iterdir()
                        if _CHUNK.fullmatch(c.name) and (c / "anno").is_dir()
                        and (split != "TRAIN" or c.name != "TEST"))
    else:
        chunks = [c.strip() for c in split.split(",") if c.strip()]
    sequences = []
    for chunk in chunks:
        anno_dir = require_dir(root / chunk / "anno", f"TrackingNet {chunk} annotation folder")
        available = sorted(p.stem for p in anno_dir.glob("*.txt"))
        if not available:
            raise FileNotFoundError(f"no TrackingNet annotations in {anno_dir}")
        for name in select_names(available, names, "TrackingNet"):
            gt = read_box_rows(anno_dir / f"{name}.txt")
            frame_dir = root / chunk / "frames" / name
            n = len(gt) if len(gt) > 1 else max(1, frames_in_folder(frame_dir))
            frames = frame_files(frame_dir, range(n), 0, ".jpg", with_frames)
            sequences.append(Sequence(name, "trackingnet", frames, gt, np.ones(len(gt), bool)))
    return sequences
