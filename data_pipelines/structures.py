"""The one sequence/annotation structure every reader produces and every sampler consumes.

Keeping a single plain dataclass means pair sampling, tfds builders and scoring never care which
dataset a video came from: LaSOT, GOT-10k, TrackingNet, COCO, MOT17 and the synthetic generator
all reduce to "frames + the SOT target's boxes + absence flags (+ optional multi-object tracks)".
"""

from __future__ import annotations

import dataclasses
import numpy as np

DATASET_NAMES = ("lasot", "got10k", "trackingnet", "coco", "mot17", "synthetic")


@dataclasses.dataclass
class Sequence:
    """One video (or, for COCO, one still image) with its annotations.

    Boxes are float64 ``x, y, w, h`` in pixels of the stored frame (top-left origin). A row of
    NaN means the box is unknown; ``absent`` says the target is not visible on that frame
    (full occlusion, out of view, or the dataset's absence label), which is what the sampler
    must skip and what the tracker's absence head learns.
    """

    name: str
    dataset: str  # 'lasot' | 'got10k' | 'trackingnet' | 'coco' | 'mot17' | 'synthetic'
    frame_paths: list[str]  # absolute paths, one per frame (COCO: one image)
    boxes: np.ndarray  # (N, 4) float64 x, y, w, h of THE target (SOT); NaN rows if unknown
    absent: np.ndarray  # (N,) bool: target not visible (occluded / out of view / absence label)
    object_class: str = ""
    # Multi-object annotations (MOT17, COCO, synthetic): id -> (N, 4) xywh float64, NaN where absent
    tracks: dict[int, np.ndarray] | None = None
    ids_are_identities: bool = False  # True for MOT17/synthetic (usable by the re-id loss); COCO False
    # Optional extras (added after the core; all default so positional construction is stable).
    cover: np.ndarray | None = None  # (N,) int 0..8 GOT-10k cover level (0 = fully occluded)
    image_size: tuple[int, int] | None = None  # (H, W) when known from annotations (MOT17, COCO)
    track_classes: dict[int, str] | None = None  # track id -> category name (COCO)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.absent = np.asarray(self.absent, dtype=bool).reshape(-1)
        n = len(self.frame_paths)
        if self.boxes.shape[0] != n or self.absent.shape[0] != n:
            raise ValueError(
                f"sequence {self.name!r} ({self.dataset}): {n} frames but "
                f"{self.boxes.shape[0]} boxes and {self.absent.shape[0]} absence flags"
            )
        if self.tracks is not None:
            for track_id, track in list(self.tracks.items()):
                track = np.asarray(track, dtype=np.float64).reshape(-1, 4)
                if track.shape[0] != n:
                    raise ValueError(
                        f"sequence {self.name!r}: track {track_id} has {track.shape[0]} rows, "
                        f"expected {n}"
                    )
                self.tracks[track_id] = track

    def __len__(self) -> int:
        return len(self.frame_paths)

    @property
    def valid(self) -> np.ndarray:
        """(N,) bool: frames whose target box is usable for training (visible and finite, w,h > 0)."""
        finite = np.all(np.isfinite(self.boxes), axis=1)
        with np.errstate(invalid="ignore"):
            positive = (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
        return finite & positive & ~self.absent
