"""LaSOT (Fan et al., CVPR 2019): `<root>/<class>/<class>-<k>/` (or flat `<root>/<class>-<k>/`)
holding groundtruth.txt (x,y,w,h per frame), full_occlusion.txt and out_of_view.txt (one line
of comma-separated 0/1 flags) and img/%08d.jpg from 1.

Splits (`split`): None or "all" -- every sequence folder found; "train" -- the official training
sequences (Protocol II: `<root>/training_set.txt` when present, else the 1,120-sequence list of
`lasot_train_split`) that are present under root (a partial download trains on what it has; the
count is logged), the training default (`datasets.TRAINING_SPLITS`); "test" --
`<root>/testing_set.txt` when present, else the official 280-sequence test list
(`lasot_test_split`), every one required; any other value -- a text file (absolute, or relative
to root) listing sequence names, every one required.
`present` = neither fully occluded nor out of view (the LaSOT toolkit's absence flags).

Real groundtruth.txt files hold rows with a negative or zero size while the flags say present
(``1,1,-1,-1`` in lion-5 frame 553, ``613,731,247,-11`` in tiger-6 frame 118). They are kept as
read: the LaSOT toolkit's evaluation (`calc_seq_err_robust.m`, see `eval.ope_metrics`) scores
them as invalid ground truth, and training sees the frame as unusable (`Sequence.valid`).
"""

from __future__ import annotations

import logging
import pathlib

from data_pipelines.datasets.lasot_test_split import LASOT_TEST_SEQUENCES
from data_pipelines.datasets.lasot_train_split import LASOT_TRAIN_SEQUENCES
from data_pipelines.datasets.parsing import (frame_files, read_box_rows, read_flags, read_lines,
                                             require_dir, resolve_root, select_names)
from data_pipelines.sequence import Sequence

logger = logging.getLogger(__name__)


def _all_names(root: pathlib.Path) -> list[str]:
    flat = {p.parent.name for p in root.glob("*/groundtruth.txt")}
    nested = {p.parent.name for p in root.glob("*/*/groundtruth.txt")}
    return sorted(flat | nested)


def split_names(root: pathlib.Path, split: str | None) -> list[str]:
    """The sequence names of `split` (see the module docstring), in file/list order."""
    if split is None or split == "all":
        return _all_names(root)
    if split in ("train", "test"):
        listing = root / ("training_set.txt" if split == "train" else "testing_set.txt")
        if listing.is_file():
            return [text for _, text in read_lines(listing)]
        return list(LASOT_TRAIN_SEQUENCES if split == "train" else LASOT_TEST_SEQUENCES)
    split_file = pathlib.Path(split)
    split_file = split_file if split_file.is_absolute() else root / split_file
    return [text for _, text in read_lines(split_file)]


def _require_all_folders(root: pathlib.Path, selected: list[str], split) -> None:
    """FileNotFoundError saying how many of the split's sequence folders are present, the first
    missing ones, and how to read every folder present instead."""
    missing = [n for n in selected
               if not (root / n.rsplit("-", 1)[0] / n).is_dir() and not (root / n).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"LaSOT split {split!r}: {len(selected) - len(missing)} of {len(selected)} sequence "
            f"folders found under {root}; missing {len(missing)}: {', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}. To score every sequence folder present "
            f"instead, use split 'all' (`dmtrack eval --split all`)")


def read_lasot(root, split: str | None = None, *, with_frames: bool = True,
               names=None) -> list[Sequence]:
    """LaSOT sequences of `split`, restricted to `names` (in that order) when given.

    Raises FileNotFoundError for a missing root, sequence folder, annotation file or (with
    frames) frame; ValueError (file:line) for malformed annotation text.
    """
    root = resolve_root(root, "LaSOT")
    listed = split_names(root, split)
    if split == "train":  # the training sequences this root holds
        present = set(_all_names(root))
        listed = [name for name in listed if name in present]
        logger.info("LaSOT train: %d of the %d training sequences are under %s", len(listed),
                    len(split_names(root, split)), root)
    hint = ""
    if split != "all" and names is not None:
        outside = set(_all_names(root)) - set(listed)
        if any(n in outside for n in names):
            hint = (f" in split {split!r}; they are folders under {root}: use split 'all' "
                    f"(dmtrack eval --split all) for sequences outside LaSOT's official splits")
    selected = select_names(listed, names, "LaSOT", hint)
    if split != "train":  # a benchmark split must be complete (evaluation)
        _require_all_folders(root, selected, split)
    sequences = []
    for name in selected:
        class_name = name.rsplit("-", 1)[0]
        folder = root / class_name / name
        if not folder.is_dir():
            folder = root / name
        require_dir(folder, f"LaSOT sequence {name}")
        gt = read_box_rows(folder / "groundtruth.txt")
        occluded = read_flags(folder / "full_occlusion.txt", len(gt))
        out_of_view = read_flags(folder / "out_of_view.txt", len(gt))
        frames = frame_files(folder / "img", range(1, len(gt) + 1), 8, ".jpg", with_frames)
        sequences.append(Sequence(name, "lasot", frames, gt, (occluded == 0) & (out_of_view == 0),
                                  object_class=class_name))
    return sequences


__all__ = ["read_lasot", "split_names", "LASOT_TEST_SEQUENCES", "LASOT_TRAIN_SEQUENCES"]
