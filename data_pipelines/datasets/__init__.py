"""Dataset readers: one per dataset layout, all producing `data_pipelines.sequence.Sequence`.

    sequences = read_dataset("lasot", "/data/LaSOT", split="test", with_frames=False)

Training (`data_pipelines.loader`, `tfds_builders`) and evaluation (`eval.scoring`,
`eval.runner`) read datasets only through here. Each module knows one layout (file names,
frame naming, split lists, the dataset's quirks); annotation text goes through `parsing`, frame
files through `dmtrack_common.frames`. What a toolkit does with the annotation (which frames
count, how invalid rows score) stays in `eval`; what sampling skips stays in `data_pipelines`.

One read serves both uses: ground-truth rows are kept as the dataset ships them, including
rows with a negative or zero size (LaSOT ``1,1,-1,-1``, GOT-10k ``-1,-1,-1,-1``); training
treats those frames as unusable (`Sequence.valid`) and evaluation scores them as the toolkits
do. A blank line in the middle of any annotation file is an error naming file and line
(`parsing.read_lines`).

Readers learn frame counts and paths from the annotation files and the known naming pattern,
so `with_frames=False` never looks at an image folder (except to count the frames of a
sequence whose annotation holds only the first box). With `with_frames=True` each frame
folder is listed once and a missing frame is a FileNotFoundError naming it.
"""

from __future__ import annotations

from typing import Callable, Iterable

from data_pipelines.datasets.coco import read_coco
from data_pipelines.datasets.got10k import read_got10k
from data_pipelines.datasets.lasot import read_lasot
from data_pipelines.datasets.mot17 import read_mot17
from data_pipelines.datasets.otb import read_otb
from data_pipelines.datasets.oxuva import read_oxuva
from data_pipelines.datasets.tlp import read_tlp
from data_pipelines.datasets.trackingnet import read_trackingnet
from data_pipelines.datasets.votlt import read_votlt
from data_pipelines.sequence import Sequence

# The official training split of each dataset a training source reads (`data_pipelines.config`
# defaults `sources.<name>.split` to these): LaSOT's 1,120 training sequences (Protocol II; the
# 280 test sequences excluded), GOT-10k's train folder, TrackingNet's TRAIN_<k> chunks (not
# TEST), COCO's train2017 annotations, MOT17's train folder. Other splits are opt-in by name.
TRAINING_SPLITS: dict[str, str] = {
    "lasot": "train", "got10k": "train", "trackingnet": "TRAIN", "coco": "train2017",
    "mot17": "train",
}

READERS: dict[str, Callable[..., list[Sequence]]] = {
    "lasot": read_lasot,
    "got10k": read_got10k,
    "trackingnet": read_trackingnet,
    "otb": read_otb,
    "tlp": read_tlp,
    "votlt": read_votlt,
    "oxuva": read_oxuva,
    "coco": read_coco,
    "mot17": read_mot17,
}


def read_dataset(name: str, root, split: str | None = None, *, with_frames: bool = True,
                 names: Iterable[str] | None = None) -> list[Sequence]:
    """The sequences of dataset `name` (a `READERS` key) at `root`.

    split: the dataset's split (each reader's docstring; None: every sequence present, except
      OxUvA "dev", MOT17 "train"). Training reads `TRAINING_SPLITS[name]` unless the data config
      names another split.
    with_frames: list and check the frame files (False: annotation files only; `frame_paths`
      are then the layout's names, unchecked).
    names: only these sequences, in this order (ValueError for an unknown one).

    Raises ValueError for an unknown dataset and for an empty result (a wrong root or split
    must not look like an empty dataset); FileNotFoundError for a missing root or file.
    """
    if name not in READERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(READERS)}")
    sequences = READERS[name](root, split, with_frames=with_frames, names=names)
    if not sequences:
        hint = ""
        if name == "lasot" and split == "train":
            hint = (": none of the 1,120 official LaSOT training sequences is there and the "
                    "root has no training_set.txt; for other data in the LaSOT layout set "
                    "--config.data.sources.lasot.split=all")
        raise ValueError(f"no {name} sequences found under {root}"
                         + (f" (split {split!r})" if split else "") + hint)
    return sequences


__all__ = (["READERS", "Sequence", "TRAINING_SPLITS", "read_dataset"]
           + [f"read_{n}" for n in READERS])
