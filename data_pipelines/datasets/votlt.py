"""VOT long-term (VOT-LT2018/2019/2020 layouts): `<root>/list.txt`, per sequence a `sequence` file
(key=value: channels.color=color/%08d.jpg, width, height) and groundtruth.txt with one region
per frame, read as the VOT toolkit reads region files (`vot/region/io.py` `parse_region`,
`read_trajectory`; conversion in `vot/region/shapes.py` `Rectangle.convert`), one line per frame
and the kinds mixed freely within a file:

* a one-value line (``0``, as the toolkit writes a special region for a frame without the
  target) -- an empty region: absent, a NaN row;
* ``x,y,w,h`` -- a rectangle, as is;
* ``x1,y1,x2,y2,...`` (8 values, or any even count >= 6) -- a polygon: its axis-aligned
  bounding box ``min(x), min(y), max(x) - min(x), max(y) - min(y)`` (min/max of the points,
  no +1);
* a row with a NaN (``nan,nan,nan,nan``) -- the toolkit's special region 0: absent, NaN.

`present` = the row is not NaN (the toolkit's VOT-LT recall counts the frames whose ground
truth is not a special region). `split` is ignored.
"""

from __future__ import annotations

import pathlib

import numpy as np

from data_pipelines.datasets.parsing import (frame_files, read_key_values, read_lines,
                                             read_region_rows, require_dir, resolve_root,
                                             select_names)
from data_pipelines.sequence import Sequence


def _frame_pattern(seq_dir: pathlib.Path, meta: dict) -> tuple[pathlib.Path, int, str]:
    """(folder, digits, suffix) of the colour frames; `%0<d>d<suffix>` patterns only."""
    pattern = pathlib.Path(meta.get("channels.color", "color/%08d.jpg"))
    spec = pattern.stem  # e.g. "%08d"
    digits = int(spec[2:-1]) if spec.startswith("%0") and spec.endswith("d") else 0
    return seq_dir / pattern.parent, digits, pattern.suffix or ".jpg"


def read_votlt(root, split: str | None = None, *, with_frames: bool = True,
               names=None) -> list[Sequence]:
    """VOT-LT sequences of list.txt (or every folder with a groundtruth.txt), `names` in that
    order. ValueError when the target is absent in frame 1 (there is nothing to start from),
    and (file:line) for a region line of another kind (see the module docstring)."""
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
        rows = read_region_rows(seq_dir / "groundtruth.txt")
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
