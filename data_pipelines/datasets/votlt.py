"""VOT long-term (VOT-LT2018/2019/2020 layouts): `<root>/list.txt`, per sequence a `sequence` file
(key=value: channels.color=color/%08d.jpg, width, height) and groundtruth.txt with one box per
frame -- x,y,w,h or an 8-value polygon (converted to its bounding box) -- and a `nan` row when
the target is absent. `present` = the row is not NaN. `split` is ignored.
"""

from __future__ import annotations

import pathlib

import numpy as np

from data_pipelines.datasets.parsing import (frame_files, read_key_values, read_lines,
                                             read_number_rows, require_dir, resolve_root,
                                             select_names)
from data_pipelines.sequence import Sequence


def _frame_pattern(seq_dir: pathlib.Path, meta: dict) -> tuple[pathlib.Path, int, str]:
    """(folder, digits, suffix) of the colour frames; `%0<d>d<suffix>` patterns only."""
    pattern = pathlib.Path(meta.get("channels.color", "color/%08d.jpg"))
    spec = pattern.stem  # e.g. "%08d"
    digits = int(spec[2:-1]) if spec.startswith("%0") and spec.endswith("d") else 0
    return seq_dir / pattern.parent, digits, pattern.suffix or ".jpg"


def read_votlt(root, split: str | None = None, *, with_frames: bool = True, names=None,
               allow_negative_sizes: bool = False) -> list[Sequence]:
    """VOT-LT sequences of list.txt (or every folder with a groundtruth.txt), `names` in that
    order. ValueError when the target is absent in frame 1 (there is nothing to start from).

    `allow_negative_sizes` is accepted for the registry's uniform signature; rows are kept as
    read (only the evaluation toolkits read this dataset)."""
    root = resolve_root(root, "VOT-LT")
    listing = root / "list.txt"
    if listing.is_file():
        available = [text for _, text in read_lines(listing)]
    else:
        available = sorted(p.parent.name for p in root.glob("*/groundtruth.txt"))
    sequences = []
    for name in select_names(available, names, "VOT-LT"):
        seq_dir = require_dir(root / name, f"VOT-LT sequence {name}")
        meta = read_key_values(seq_dir / "sequence") if (seq_dir / "sequence").is_file() else {}
        rows = read_number_rows(seq_dir / "groundtruth.txt", columns=(4, 8))
        if rows.shape[1] == 8:
            xs, ys = rows[:, 0::2], rows[:, 1::2]
            rows = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1),
                             ys.max(1) - ys.min(1)], axis=1)
        present = ~np.isnan(rows).any(axis=1)
        if not present[0]:
            raise ValueError(f"VOT-LT {name}: the target is absent in frame 1 "
                             f"({seq_dir / 'groundtruth.txt'}:1)")
        image_size = ((int(meta["height"]), int(meta["width"]))
                      if "width" in meta and "height" in meta else None)
        folder, digits, suffix = _frame_pattern(seq_dir, meta)
        frames = frame_files(folder, range(1, len(rows) + 1), digits, suffix, with_frames)
        sequences.append(Sequence(name, "votlt", frames, rows, present, image_size=image_size))
    return sequences
