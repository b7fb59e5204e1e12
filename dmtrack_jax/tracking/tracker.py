"""The online tracker: the jitted network step plus the host-side association.

`Tracker.initialize(frame, box_xywh)` builds the kernels once from frame 1 and the target's
first-frame embedding; `Tracker.track(frame) -> (box_xywh, confidence)` runs one network call
and one association update. `BatchedTracker` tracks B sequences at once: one vmapped network
call per frame for all B, and B independent association states.
Frames are uint8 RGB (H, W, 3); boxes in the user-facing x, y, w, h of the original frame.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dmtrack_common.boxes import xywh_to_xyxy, xyxy_to_xywh
from dmtrack_jax.tracking.association import BatchedAssociator, Candidates
from dmtrack_jax.tracking.network import NetworkStep, preprocess_frame


def check_init_box(box_xywh, frame_hw) -> np.ndarray:
    """The user's initial box must be finite, of positive size, and overlap the frame."""
    box = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise ValueError(f"the initial box must be x,y,w,h (4 numbers), got {box_xywh!r}")
    x, y, w, h = box
    if not np.all(np.isfinite(box)):
        raise ValueError(f"the initial box {list(box)} has a NaN or infinite value")
    if w <= 0 or h <= 0:
        raise ValueError(f"the initial box {list(box)} has zero or negative size")
    height, width = frame_hw
    if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
        raise ValueError(f"the initial box {list(box)} lies outside the {width}x{height} frame")
    return box


class BatchedTracker:
    """Tracks B sequences in lockstep (one network call per frame for all of them)."""

    def __init__(self, model, variables, tracker_config, input_hw: Sequence[int]):
        self.network = NetworkStep(model, variables, tracker_config)
        self.config = tracker_config
        self.input_hw = tuple(input_hw)
        self.associators = None
        self.kernels = None
        self.last_candidates = None

    def _prepare(self, frames):
        canvases, scales = zip(*(preprocess_frame(f, self.input_hw) for f in frames))
        return np.stack(canvases), np.stack(scales)

    def initialize(self, frames: Sequence[np.ndarray], boxes_xywh) -> None:
        boxes_xywh = [check_init_box(b, f.shape[:2]) for f, b in zip(frames, boxes_xywh)]
        canvases, scales = self._prepare(frames)
        boxes_xyxy = xywh_to_xyxy(np.stack(boxes_xywh))
        self.kernels, embeddings = self.network.encode(canvases, boxes_xyxy * scales)
        self.first_boxes_xyxy, self.first_embeddings = boxes_xyxy, embeddings
        self.associators = BatchedAssociator(self.config, len(frames))
        self.associators.initialize(boxes_xyxy, embeddings)

    def detect(self, frames: Sequence[np.ndarray]) -> list[Candidates]:
        """The network half of a step: every frame's candidates, in original-frame pixels."""
        if self.kernels is None:
            raise RuntimeError("call initialize() before track()")
        canvases, scales = self._prepare(frames)
        found = self.network.detect(canvases, self.kernels)
        candidates = []
        for b in range(len(frames)):
            keep = found.valid[b]
            candidates.append(Candidates(
                boxes=found.boxes[b][keep] / scales[b],
                scores=found.scores[b][keep],
                embeddings=found.embeddings[b][keep],
            ))
        self.last_candidates = candidates
        return candidates

    def track(self, frames: Sequence[np.ndarray]):
        """-> boxes (B, 4) x, y, w, h in the original frames, confidences (B,)."""
        candidates = self.detect(frames)
        boxes_xyxy, confidences = self.associators.update(candidates)
        return xyxy_to_xywh(np.asarray(boxes_xyxy)), np.asarray(confidences)

    def distractor_boxes(self, index: int = 0) -> np.ndarray:
        """Boxes (x, y, w, h) of the distractor tracklets of sequence `index` (for drawing)."""
        boxes = self.associators.associators[index].distractor_boxes()
        return xyxy_to_xywh(np.asarray(boxes).reshape(-1, 4))


class Tracker:
    """One sequence: `initialize(frame, box_xywh)`, then `track(frame) -> (box_xywh, conf)`."""

    def __init__(self, model, variables, tracker_config, input_hw: Sequence[int]):
        self._batched = BatchedTracker(model, variables, tracker_config, input_hw)

    def initialize(self, frame: np.ndarray, box_xywh) -> None:
        self._batched.initialize([frame], [box_xywh])

    def track(self, frame: np.ndarray):
        boxes, confidences = self._batched.track([frame])
        return boxes[0], float(confidences[0])

    def distractor_boxes(self) -> np.ndarray:
        return self._batched.distractor_boxes(0)
