"""TLP (Moudgil & Gandhi, ACCV 2018): `<root>/<Seq>/groundtruth_rect.txt` rows
`frame,x,y,w,h,isLost` and img/ frames (%05d.jpg).

`ground_truth` is the x,y,w,h columns; isLost is kept in ``extra["is_lost"]`` ((N,) bool) but
not used for `present` (all True), as is common practice. With frames, the first N image files
of img/ in frame order; without, img/<frame column>.jpg. `split` is ignored.
"""

from __future__ import annotations

import numpy as np

from data_pipelines.datasets.parsing import read_number_rows, resolve_root, select_names
from data_pipelines.sequence import Sequence
from dmtrack_common.frames import list_frames


def read_tlp(root, split: str | None = None, *, with_frames: bool = True,
             names=None) -> list[Sequence]:
    """TLP sequences sorted by name, or `names` in that order; rows are kept as read."""
    root = resolve_root(root, "TLP")
    available = sorted(p.name for p in root.iterdir() if (p / "groundtruth_rect.txt").is_file())
    if not available:
        raise FileNotFoundError(f"no TLP sequences (*/groundtruth_rect.txt) under {root}")
    sequences = []
    for name in select_names(available, names, "TLP"):
        folder = root / name
        rows = read_number_rows(folder / "groundtruth_rect.txt", columns=6)
        if with_frames:
            frames = list_frames(folder / "img")[: len(rows)]
            if len(frames) < len(rows):
                raise FileNotFoundError(f"{folder / 'img'}: {len(frames)} frames for "
                                        f"{len(rows)} annotated rows")
        else:
            frames = [folder / "img" / f"{int(k):05d}.jpg" for k in rows[:, 0]]
        sequences.append(Sequence(name, "tlp", frames, rows[:, 1:5], np.ones(len(rows), bool),
                                  extra={"is_lost": rows[:, 5] > 0}))
    return sequences
