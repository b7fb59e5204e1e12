"""`Sequence`: the one annotated-video type, read by `data_pipelines.datasets` and used by both
training (pair sampling, tfds builders) and evaluation (scoring, the benchmark runner).

A sequence keeps the annotation the way the dataset ships it -- `ground_truth` holds the raw
x, y, w, h rows and `present` the dataset's own presence flags -- so a toolkit can score
invalid rows exactly as it does. Training reads the derived views `boxes`, `absent` and
`valid`, which are computed from those fields and never stored a second time (they are
read-only arrays: edit `ground_truth` / `present` instead).

Conventions:

* Boxes are float64 ``x, y, w, h`` in pixels of the stored frame, top-left origin (continuous
  convention: the box covers [x, x + w) x [y, y + h); see `dmtrack_common.boxes`).
* `ground_truth` is (N, 4) for N frames, or (1, 4) when the benchmark publishes only the first
  frame's box (GOT-10k test, TrackingNet TEST) while `frame_paths` lists all N frames. A row of
  NaN means the box is unknown (VOT-LT marks absence that way); rows with w <= 0 or h <= 0 are
  kept as read, whatever `present` says (LaSOT ``1,1,-1,-1``, ``613,731,247,-11``; GOT-10k
  train ``-1,-1,-1,-1`` on absent frames): the LaSOT toolkit (`utils/calc_seq_err_robust.m`)
  scores them as invalid ground truth (overlap -1, centre error -1), and the training views
  below make such a frame `absent` and not `valid`, so it is never a template or search
  target. Boxes reaching past the image border (negative x or y, x + w beyond the width) are
  valid as read; the augmentation clips them to the frame.
* `present` (same length as `ground_truth`) is the dataset's presence label, per dataset:

  =============  ============================================================================
  LaSOT          not in full_occlusion.txt and not in out_of_view.txt
  GOT-10k        absence.label == 0 (test split: True for the one public box)
  TrackingNet    always True (the dataset has no absence labels)
  OTB, TLP       always True (TLP's isLost column is kept in ``extra["is_lost"]``)
  VOT-LT         the row is not NaN
  OxUvA          True (the 1 Hz presence labels live in `datasets.oxuva.read_annotations`)
  MOT17, COCO    False: the SOT fields are unused, the objects live in `tracks`
  synthetic      the SOT target is visible
  =============  ============================================================================

* `cover` (GOT-10k only): (M,) int64 visible-fraction level 0..8 from cover.label (0 = fully
  occluded; scored frames are those with cover > 0).
* `image_size` is (H, W) when the annotations give it (GOT-10k meta_info.ini resolution,
  VOT-LT `sequence` file, MOT17 seqinfo.ini, COCO json, synthetic).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np


@dataclasses.dataclass
class Sequence:
    """One target in one video (COCO: one still image with all its objects).

    Fields:
      name: the dataset's sequence name (OTB two-target videos: ``Jogging-1``; OxUvA
        ``<video>_<object>``).
      dataset: the `datasets.READERS` key, or "synthetic".
      frame_paths: one `pathlib.Path` per frame, in order. Read with frames they are the
        files found on disk; read without frames they are the names the layout gives (not
        checked). The frame count N is ``len(frame_paths)``.
      ground_truth: (N, 4) or (1, 4) float64 raw x, y, w, h rows (see the module docstring).
      present: (N,) or (1,) bool, the dataset's presence label for each ground-truth row.
      object_class: the target's class name ("" if the dataset gives none).
      tracks: multi-object annotations (MOT17, COCO, synthetic): id -> (N, 4) float64 xywh,
        NaN rows where the object is not annotated/visible; None for SOT-only datasets.
      ids_are_identities: True when track ids are identities the re-id loss may learn (MOT17,
        synthetic); COCO annotation ids are not.
      cover: GOT-10k (M,) int64 cover levels 0..8, else None.
      image_size: (H, W) in pixels when the annotation files give it, else None.
      track_classes: track id -> category name (COCO), else None.
      extra: dataset-specific values: OTB ``start_frame`` (image number of row 0), TLP
        ``is_lost`` (N,) bool, OxUvA ``video``, ``object``, ``frame_numbers`` (N,),
        ``init_frame``, ``last_frame`` and ``init_box_xxyy`` (fractions of the image size).

    Raises ValueError when the rows do not line up with the frames (naming the sequence).
    """

    name: str
    dataset: str
    frame_paths: list[pathlib.Path]
    ground_truth: np.ndarray
    present: np.ndarray
    object_class: str = ""
    tracks: dict[int, np.ndarray] | None = None
    ids_are_identities: bool = False
    cover: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    track_classes: dict[int, str] | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frame_paths = [pathlib.Path(os.fspath(p)) for p in self.frame_paths]
        self.ground_truth = np.asarray(self.ground_truth, dtype=np.float64).reshape(-1, 4)
        self.present = np.asarray(self.present, dtype=bool).reshape(-1)
        n, m = len(self.frame_paths), len(self.ground_truth)
        if len(self.present) != m or not (m == n or (m == 1 and n > 1)):
            raise ValueError(
                f"sequence {self.name!r} ({self.dataset}): {n} frames but {m} boxes and "
                f"{len(self.present)} presence flags")
        if self.cover is not None:
            self.cover = np.asarray(self.cover, dtype=np.int64).reshape(-1)
            if len(self.cover) != m:
                raise ValueError(f"sequence {self.name!r}: {len(self.cover)} cover labels "
                                 f"for {m} boxes")
        if self.tracks is not None:
            for track_id, track in list(self.tracks.items()):
                track = np.asarray(track, dtype=np.float64).reshape(-1, 4)
                if track.shape[0] != n:
                    raise ValueError(
                        f"sequence {self.name!r}: track {track_id} has {track.shape[0]} rows, "
                        f"expected {n}")
                self.tracks[track_id] = track

    def __len__(self) -> int:
        return len(self.frame_paths)

    @property
    def init_box(self) -> np.ndarray:
        """(4,) x, y, w, h the tracker starts from on frame 0."""
        return self.ground_truth[0]

    # ------------------------------------------------------------------ training view

    @property
    def absent(self) -> np.ndarray:
        """(N,) bool: the target is not visible on the frame -- not `present`, a NaN or
        zero/negative-size box, or GOT-10k cover 0. Frames beyond a first-box-only
        annotation are unknown, not absent (False)."""
        gt = self.ground_truth
        with np.errstate(invalid="ignore"):
            box_ok = np.all(np.isfinite(gt), axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
        absent_rows = ~self.present | ~box_ok
        if self.cover is not None:
            absent_rows |= self.cover == 0
        absent = np.zeros(len(self), dtype=bool)
        absent[: len(gt)] = absent_rows
        return _read_only(absent)

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) float64 x, y, w, h of the target, NaN where `absent` or unknown."""
        boxes = np.full((len(self), 4), np.nan)
        m = len(self.ground_truth)
        boxes[:m] = np.where(self.absent[:m, None], np.nan, self.ground_truth)
        return _read_only(boxes)

    @property
    def valid(self) -> np.ndarray:
        """(N,) bool: frames whose target box is usable for training (visible and finite,
        w, h > 0)."""
        boxes = self.boxes
        with np.errstate(invalid="ignore"):
            positive = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        return _read_only(np.all(np.isfinite(boxes), axis=1) & positive & ~self.absent)


def _read_only(array: np.ndarray) -> np.ndarray:
    """A derived view must not be written to: the write would be lost on the next access."""
    array.flags.writeable = False
    return array
