"""GOT-10k (Huang et al., TPAMI 2019): `<root>/<split>/list.txt` and per sequence
groundtruth.txt (x,y,w,h), absence.label (0/1 per line), cover.label (0..8 per line),
meta_info.ini (`object_class: ...`, `resolution: (W, H)`), frames %08d.jpg from 1.

`split`: "train" (the training default, `datasets.TRAINING_SPLITS`), "val", "test", several
joined by commas ("train,val"), or None / "all" for every split folder present. The test split
publishes only the first frame's box (no label files): its frame count comes from the folder
and `ground_truth` keeps the single row. `present` = absence.label == 0; `cover` as read.
Source: the got10k-toolkit's `datasets/got10k.py` layout.

Real train/ files write ``-1,-1,-1,-1`` (or NaN) on the frames absence.label marks absent: the
row is kept as read and the frame is absent (`present` False; the training view's `valid` is
False). Boxes that extend past the image border (frequent in train/) are valid as read; the
augmentation clips them to the frame (`data_pipelines.augment.augment_view`).
"""

from __future__ import annotations

import ast
import configparser
import pathlib

import numpy as np

from data_pipelines.datasets.parsing import (frame_files, frames_in_folder, read_box_rows,
                                             read_flags, read_lines, require_dir, resolve_root,
                                             select_names)
from data_pipelines.sequence import Sequence

SPLITS = ("train", "val", "test")


def read_meta(path: pathlib.Path) -> tuple[str, tuple[int, int] | None]:
    """(object_class or "", image size (H, W) or None) from meta_info.ini (optional file).

    The file has `key: value` lines, with or without a section header. A `resolution` that is
    not `(W, H)` is a ValueError naming the file.
    """
    if not path.is_file():
        return "", None
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        text = "[meta]\n" + text
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        raise ValueError(f"{path}: not an ini file ({err})") from None
    object_class, size = "", None
    for section in parser.sections():
        if parser.has_option(section, "object_class"):
            object_class = parser.get(section, "object_class").strip()
        if parser.has_option(section, "resolution"):
            value = parser.get(section, "resolution")
            try:
                width, height = ast.literal_eval(value)
                size = (int(height), int(width))
            except (ValueError, SyntaxError, TypeError):
                raise ValueError(f"{path}: bad resolution {value!r}") from None
    return object_class, size


def read_got10k(root, split: str | None = None, *, with_frames: bool = True,
                names=None) -> list[Sequence]:
    """GOT-10k sequences of `split` (all splits present when None), `names` in that order."""
    root = resolve_root(root, "GOT-10k")
    if split is None or split == "all":
        splits = [s for s in SPLITS if (root / s).is_dir()]
    else:
        splits = [s.strip() for s in split.split(",") if s.strip()]
    sequences = []
    for split_name in splits:
        folder = require_dir(root / split_name, f"GOT-10k {split_name} folder")
        available = [text for _, text in read_lines(folder / "list.txt")]
        for name in select_names(available, names, "GOT-10k"):
            seq_dir = require_dir(folder / name, f"GOT-10k sequence {name}")
            gt = read_box_rows(seq_dir / "groundtruth.txt")
            absence_path, cover_path = seq_dir / "absence.label", seq_dir / "cover.label"
            cover = None
            if len(gt) > 1 or absence_path.is_file():
                present = read_flags(absence_path, len(gt)) == 0
                if cover_path.is_file():
                    cover = read_flags(cover_path, len(gt), range(0, 9))
                n = len(gt)
            else:  # test split: only the first box is public
                present = np.ones(1, bool)
                n = max(1, frames_in_folder(seq_dir))
            object_class, image_size = read_meta(seq_dir / "meta_info.ini")
            frames = frame_files(seq_dir, range(1, n + 1), 8, ".jpg", with_frames)
            sequences.append(Sequence(name, "got10k", frames, gt, present,
                                      object_class=object_class, cover=cover,
                                      image_size=image_size))
    return sequences
