"""The online tracker: the jitted network step plus the host-side association.

`Tracker.initialize(frame, box_xywh)` builds the kernels once from frame 1 and the target's
first-frame embedding; `Tracker.track(frame) -> TrackResult` runs one network call and one
association update. `BatchedTracker` tracks B sequences at once: one vmapped network call per
frame for all B, B independent association states, `track(frames) -> list[TrackResult]`.
K targets in one video: `Tracker.initialize(frame, boxes_xywh (K, 4))`, then
`track(frame) -> list of K TrackResult`; one backbone pass per frame serves all K targets
(their heads vmapped in the same jitted call), each target has its own association.
Frames are uint8 RGB (H, W, 3); boxes in the user-facing x, y, w, h of the original frame.

Build trackers with `Tracker.from_checkpoint(path, ...)` / `BatchedTracker.from_checkpoint`
(an exported folder or a training workdir) or `.from_config(config, variables)` (live training
weights): both fill tracker fields missing from old configs with `default_tracker_config()`,
apply overrides and run `check_tracker_config` once, so every entry point refuses a bad value
the same way, before any frame is read or tracked.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Sequence

import ml_collections
import numpy as np

from dmtrack_common.boxes import xywh_to_xyxy, xyxy_to_xywh
from dmtrack_jax.config_utils import apply_overrides
from dmtrack_jax.tracking.association import BatchedAssociator, Candidates
from dmtrack_jax.tracking.config import check_tracker_config, default_tracker_config
from dmtrack_jax.tracking.network import NetworkStep, clip_template_boxes, preprocess_frame


@dataclasses.dataclass(frozen=True)
class TrackResult:
    """What the tracker reports for one target on one frame.

    box: (4,) float64 x, y, w, h in pixels of the ORIGINAL frame (x, y the top-left corner;
      under `box_convention='pixel_inclusive'` w = x2 - x1 + 1). When the target is judged
      absent this is the last box reported while it was present (never NaN).
    confidence: float in [0, 1], the chosen candidate's score (sigmoid(cls) *
      sigmoid(centerness)), 0 when no candidate is the target; below
      `tracker_config.absent_confidence` the target is judged absent.
    distractors: (M, 4) float64 x, y, w, h (original-frame pixels) of the distractor
      tracklets alive after this frame's association, M >= 0 (for drawing).
    """

    box: np.ndarray
    confidence: float
    distractors: np.ndarray


def check_init_box(box_xywh, frame_hw) -> np.ndarray:
    """The user's initial box must be finite, of positive size, and overlap the frame."""
    box = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise ValueError(f"the initial box must be x,y,w,h (4 numbers), got {box_xywh!r}")
    x, y, w, h = box
    if not np.all(np.isfinite(box)):
        raise ValueError(f"the initial box {box.tolist()} has a NaN or infinite value")
    if w <= 0 or h <= 0:
        raise ValueError(f"the initial box {box.tolist()} has zero or negative size")
    height, width = frame_hw
    if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
        raise ValueError(f"the initial box {box.tolist()} lies outside the {width}x{height} frame")
    return box


def _checked_target(index: int, box, frame_hw) -> np.ndarray:
    try:
        return check_init_box(box, frame_hw)
    except ValueError as err:
        raise ValueError(f"target {index}: {err}") from None


def resolve_tracker_config(config, config_overrides: Sequence[str] = (),
                           tracker_overrides: Mapping[str, Any] | None = None
                           ) -> ml_collections.ConfigDict:
    """A copy of the full model config, ready to build a tracker from.

    1. `config.tracker` fields missing from an old checkpoint's config (or the whole section)
       take their value from `default_tracker_config()`;
    2. `config_overrides` (command-line strings `--config.tracker.x=y`, `--config.model.dtype=z`)
       are applied with `dmtrack_jax.config_utils.apply_overrides`;
    3. `tracker_overrides` (field -> value, from code) are set on `config.tracker`;
    4. `check_tracker_config(config.tracker)` runs once on the result.

    The caller's config is never modified. Raises ValueError (one line, naming the field) for an
    unknown field, a value of the wrong type or a value the association cannot work with.
    """
    if isinstance(config, ml_collections.ConfigDict):
        config = config.copy_and_resolve_references()
    else:
        config = ml_collections.ConfigDict(dict(config))
    defaults = default_tracker_config()
    with config.unlocked():
        if config.get("tracker") is None:
            config.tracker = defaults
        else:
            for key, value in defaults.items():
                if key not in config.tracker:
                    config.tracker[key] = value
    apply_overrides(config, config_overrides)
    for key, value in (tracker_overrides or {}).items():
        if key not in config.tracker:
            raise ValueError(f"unknown tracker field config.tracker.{key} (known: "
                             f"{', '.join(sorted(config.tracker))})")
        if isinstance(config.tracker[key], tuple) and isinstance(value, list):
            value = tuple(value)
        try:
            config.tracker[key] = value
        except TypeError as err:
            raise ValueError(f"config.tracker.{key}={value!r}: {err}") from None
    check_tracker_config(config.tracker)
    return config


class _FromConfig:
    """The `from_config` / `from_checkpoint` constructors shared by both tracker classes."""

    @classmethod
    def from_config(cls, config, variables, *, config_overrides: Sequence[str] = (),
                    **tracker_overrides):
        """A tracker from a full config (with `.model`, optionally `.tracker`) and variables
        (`{"params": ..., "batch_stats": ...}`, e.g. live training weights fetched to host).

        Tracker fields missing from `config` take `default_tracker_config()`'s values; then
        `config_overrides` (`--config.a.b=value` strings) and `tracker_overrides`
        (`field=value`) apply, and `check_tracker_config` runs once (see
        `resolve_tracker_config`; the settings are those of the association of the paper's
        section 3.5, DESIGN.md section 5). The model is built with
        `dmtrack_jax.models.build_model(config.model)`; frames are resized into
        `config.tracker.input_size` (H, W). `config` itself is not modified; the tracker's
        `.config` is the resolved copy.

        Raises ValueError (one line naming the field and, for choices, the allowed values) for
        an unknown field, a wrongly typed value or a value the tracker cannot work with, and
        for a model config `build_model` refuses.
        """
        config = resolve_tracker_config(config, config_overrides, tracker_overrides)
        return cls._build(config, variables)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, config_overrides: Sequence[str] = (),
                        **tracker_overrides):
        """A tracker from an exported checkpoint folder or a training workdir (newest step).

        The checkpoint's config.json is read and resolved first, as in `from_config` (defaults
        for missing tracker fields, `config_overrides` such as
        `--config.tracker.selection_mode=top1`, then `tracker_overrides`, then
        `check_tracker_config` once), so a bad value is refused before the weights are
        restored; the variables are then loaded with
        `dmtrack_jax.checkpoint_io.load_for_inference` and the model built with
        `build_model(config.model)`.

        Raises FileNotFoundError when `path` is neither an exported checkpoint nor a training
        workdir with a finished step, and ValueError as `from_config` does.
        """
        from dmtrack_jax.checkpoint_io import load_for_inference, read_inference_config

        config = resolve_tracker_config(read_inference_config(path), config_overrides,
                                        tracker_overrides)
        variables, _ = load_for_inference(path)
        return cls._build(config, variables)

    @classmethod
    def _build(cls, config, variables):
        from dmtrack_jax.models import build_model

        model = build_model(config.model)
        return cls(model, variables, config.tracker, config.tracker.input_size, config=config)


class BatchedTracker(_FromConfig):
    """Tracks B sequences in lockstep: one network call per frame for all sequences whose
    frames share a canvas size (with `canvas='pad'` sequences of different frame sizes are
    grouped by padded size, one call per group; see `initialize`). Each sequence holds one
    target ((B, 4) boxes) or K ((B, K, 4) boxes, the same K for all: one call per frame still
    serves every target of every sequence of a canvas size).

    Public state: `config` (the full resolved config: `.tracker`, and `.model` when built by a
    `from_*` constructor), `tracker_config` (= `config.tracker`), `input_hw` (the
    `config.tracker.input_size` frames are resized by), `network` (the jitted `NetworkStep`;
    `network.compiled_sizes` lists the shapes compiled so far), `kernels` (the current
    batch's dynamic kernels, None before `initialize`) and `canvas_groups`. The association state is private; use
    `associate`, `new_association`, `distractor_boxes` and `first_frame_embeddings`.
    """

    def __init__(self, model, variables, tracker_config, input_hw: Sequence[int], *,
                 config: ml_collections.ConfigDict | None = None):
        """Low level: prefer `from_checkpoint` / `from_config`, which fill defaults and check
        the tracker config. `config`, when given, is the full config `tracker_config` is from."""
        self.network = NetworkStep(model, variables, tracker_config)
        self.tracker_config = tracker_config
        self.config = config if config is not None else ml_collections.ConfigDict(
            {"tracker": tracker_config})
        self.input_hw = tuple(int(v) for v in input_hw)
        self.last_candidates = None
        # One entry per canvas size of the batch: (sequence indices, their kernels, the
        # canvas shape (Hc, Wc, 3)).
        self._groups: list[tuple[np.ndarray, Any, tuple]] = []
        self._association: BatchedAssociator | None = None
        self._num_targets: int | None = None
        self._first_boxes_xyxy: np.ndarray | None = None
        self._first_embeddings: np.ndarray | None = None

    @property
    def pixel_inclusive(self) -> bool:
        """True when boxes follow the released x2 = x + w - 1 convention (`box_convention`)."""
        return self.tracker_config.get("box_convention", "continuous") == "pixel_inclusive"

    @property
    def kernels(self):
        """The batch's dynamic kernels ({name: (B, 1, L, ...)}), None before `initialize`.

        Raises RuntimeError when the batch's frames have more than one canvas size: their
        kernels are then held per size (see `canvas_groups`)."""
        if not self._groups:
            return None
        if len(self._groups) > 1:
            raise RuntimeError(f"this batch has {len(self._groups)} canvas sizes, each with "
                               "its own kernels; see canvas_groups")
        return self._groups[0][1]

    @property
    def canvas_groups(self) -> list[np.ndarray]:
        """The sequence indices sharing one canvas size, one array per size (initialize's)."""
        return [indices.copy() for indices, _, _ in self._groups]

    # ------------------------------------------------------------------ tracking
    def _prepare(self, frames):
        """-> canvases (list of (Hc, Wc, 3)), scales (B, 4), resized (h, w) (B, 2)."""
        c = self.tracker_config
        prepared = [preprocess_frame(f, self.input_hw,
                                     resize_rule=c.get("resize_rule", "long_short"),
                                     canvas=c.get("canvas", "pad"),
                                     multiple=int(c.get("canvas_multiple", 32)))
                    for f in frames]
        canvases, scales, resized = zip(*prepared)
        return list(canvases), np.stack(scales), np.asarray(resized, np.float64)

    @staticmethod
    def _by_canvas(canvases) -> list[np.ndarray]:
        """Sequence indices grouped by canvas shape, in order of first appearance."""
        groups: dict[tuple, list[int]] = {}
        for b, canvas in enumerate(canvases):
            groups.setdefault(canvas.shape, []).append(b)
        return [np.asarray(v) for v in groups.values()]

    def initialize(self, frames: Sequence[np.ndarray], boxes_xywh) -> None:
        """Starts B new sequences (forgetting any previous ones).

        frames: B uint8 RGB images (H_b, W_b, 3) (sizes may differ); boxes_xywh: (B, 4)
        first-frame target boxes x, y, w, h in pixels of each original frame (x, y the top-left
        corner), read as x1, y1, x2, y2 in the `box_convention` (released: x2 = x + w - 1).
        Each frame is resized (`resize_rule`) and padded (`canvas`): see
        `network.preprocess_frame`. The box is scaled with the frame (and clipped to the
        canvas with `clip_template_box`); the network encodes the dynamic kernels and the
        target's first-frame re-id embedding (the template branch, paper section 3.5), and
        one association per sequence starts from the box and that embedding.

        Canvas sizes: the sequences are grouped by canvas size and each group runs its own
        network call (padding one frame to another's canvas would change the head's
        GroupNorm statistics, hence the boxes); a group is B_g sequences of one size, and each
        new (B_g, Hc, Wc) compiles once. Every later frame of a sequence must keep the size
        of its first frame's canvas (a video has one frame size).

        Several targets per sequence: boxes_xywh (B, K, 4), K >= 1 targets in every sequence
        (the same K for all B). The network then encodes the K targets of a frame with one
        backbone pass and detects them with one call per frame (`NetworkStep.detect_targets`:
        backbone, FPN and re-id map once, the K heads vmapped); each target keeps its own
        association (`association.MultiTargetAssociator`), and `detect` / `track` return per
        sequence a list of K items. Targets can only be added or dropped by calling
        `initialize` again (which restarts every target from the given frame).

        Raises ValueError (one line) for a box that is not 4 finite numbers, has zero or
        negative size or lies outside its frame, for a boxes array that is neither (B, 4) nor
        (B, K, 4), or for a number of boxes that is not the number of frames.
        """
        if len(boxes_xywh) != len(frames):
            raise ValueError(f"got {len(boxes_xywh)} box sets for {len(frames)} frames")
        try:
            raw = np.asarray(boxes_xywh, dtype=np.float64)
        except ValueError:
            raise ValueError("every sequence must have the same number of targets (boxes "
                             "(B, 4) or (B, K, 4))") from None
        if raw.ndim == 3 and raw.shape[1] >= 1 and raw.shape[2] == 4:
            num_targets = raw.shape[1]
            boxes_xywh = np.stack([np.stack([_checked_target(k, box, f.shape[:2])
                                             for k, box in enumerate(boxes)])
                                   for f, boxes in zip(frames, raw)])
        else:
            num_targets = None
            boxes_xywh = np.stack([check_init_box(b, f.shape[:2])
                                   for f, b in zip(frames, boxes_xywh)])
        canvases, scales, _ = self._prepare(frames)
        boxes_xyxy = xywh_to_xyxy(boxes_xywh, pixel_inclusive=self.pixel_inclusive)
        canvas_boxes = boxes_xyxy * (scales if num_targets is None else scales[:, None])
        groups, embeddings = [], None
        for indices in self._by_canvas(canvases):
            batch = np.stack([canvases[b] for b in indices])
            boxes = canvas_boxes[indices]
            if self.tracker_config.get("clip_template_box", False):
                boxes = clip_template_boxes(boxes, batch.shape[1:3])
            kernels, group_embeddings = self.network.encode(batch, boxes)
            if embeddings is None:
                embeddings = np.zeros((len(frames),) + group_embeddings.shape[1:], np.float32)
            embeddings[indices] = group_embeddings
            groups.append((indices, kernels, batch.shape[1:]))
        self._groups = groups
        self._num_targets = num_targets
        self._first_boxes_xyxy, self._first_embeddings = boxes_xyxy, embeddings
        self._association = self.new_association()

    @property
    def num_targets(self) -> int | None:
        """K when `initialize` was given (B, K, 4) boxes, None for (B, 4) (one target, whose
        results are not wrapped in per-sequence lists)."""
        return self._num_targets

    def detect(self, frames: Sequence[np.ndarray]) -> list:
        """The network half of a step, without association.

        frames: B uint8 RGB images (H_b, W_b, 3), one per sequence, in `initialize`'s order,
        each of its sequence's canvas size (one network call per canvas size).
        Returns B `Candidates` in original-frame pixels (canvas boxes divided by the frame's
        scales, fact 9): boxes (N_b, 4) float64 x1, y1, x2, y2, scores (N_b,) in [0, 1]
        (sigmoid(cls) * sigmoid(ctr), after NMS, at most `max_detections`, target class
        only), embeddings (N_b, D) L2-normalised (D = 1 and zero without a re-id head).
        With K targets per sequence (`num_targets`): B lists of K `Candidates`, target k's
        from its own head (one network call per canvas size for all B x K).

        Raises RuntimeError before `initialize`; ValueError when a frame's canvas size
        differs from its sequence's first frame's (one line, naming the sequence).
        """
        if not self._groups:
            raise RuntimeError("call initialize() before track()")
        canvases, scales, resized = self._prepare(frames)
        candidates: list[Candidates | None] = [None] * len(frames)
        for indices, kernels, shape in self._groups:
            for b in indices:
                if canvases[b].shape != shape:
                    raise ValueError(
                        f"sequence {b}: frame {frames[b].shape[1]}x{frames[b].shape[0]} gives "
                        f"a {canvases[b].shape[1]}x{canvases[b].shape[0]} canvas, its first "
                        f"frame a {shape[1]}x{shape[0]} one (a sequence keeps one frame size)")
            found = self.network.detect_targets(np.stack([canvases[b] for b in indices]),
                                                kernels, resized[indices])
            for row, b in enumerate(indices):
                per_target = []
                for k in range(found.boxes.shape[1]):
                    keep = found.valid[row, k]
                    per_target.append(Candidates(
                        boxes=found.boxes[row, k][keep] / scales[b],
                        scores=found.scores[row, k][keep],
                        embeddings=found.embeddings[row, k][keep],
                    ))
                candidates[b] = per_target[0] if self._num_targets is None else per_target
        self.last_candidates = candidates
        return candidates

    def associate(self, candidates: Sequence) -> list:
        """The association half of a step: B candidate sets (`detect`'s) -> B `TrackResult`s,
        one per sequence in `initialize`'s order (with K targets: B lists of K). See `track`.

        Raises RuntimeError before `initialize`.
        """
        if self._association is None:
            raise RuntimeError("call initialize() before track()")
        boxes_xyxy, confidences = self._association.update(candidates)
        boxes = xyxy_to_xywh(np.asarray(boxes_xyxy, np.float64),
                             pixel_inclusive=self.pixel_inclusive)
        if self._num_targets is None:
            return [TrackResult(np.array(boxes[b], np.float64), float(confidences[b]),
                                self.distractor_boxes(b)) for b in range(len(boxes))]
        return [[TrackResult(np.array(boxes[b, k], np.float64), float(confidences[b, k]),
                             self.distractor_boxes(b, k)) for k in range(boxes.shape[1])]
                for b in range(len(boxes))]

    def track(self, frames: Sequence[np.ndarray]) -> list[TrackResult]:
        """One frame of each of the B sequences -> B `TrackResult`s (a list, in
        `initialize`'s order; `np.stack([r.box for r in results])` gives the (B, 4) boxes).

        frames: B uint8 RGB images (H_b, W_b, 3), in `initialize`'s order, each of the size
        of its sequence's first frame (more exactly: giving the same padded canvas; a frame of
        another size is refused with a ValueError naming the sequence). Each result's box is
        (4,) float64 x, y, w, h in that frame's pixels, its confidence the chosen candidate's
        score in [0, 1] (0 when no candidate is the target). Below
        `tracker_config.absent_confidence` the target is judged absent and the box is the last
        one reported while it was present (paper section 3.5, DESIGN.md section 5: the target
        tracklet among distractor tracklets, selected by `selection_mode`); `distractors` are
        the other tracklets' boxes.

        With K targets per sequence (`initialize` given (B, K, 4) boxes) each sequence's item
        is a list of K `TrackResult`s, in the order of its boxes.

        Raises RuntimeError before `initialize`, ValueError for a frame of another canvas size.
        """
        return self.associate(self.detect(frames))

    # ------------------------------------------------------------------ for evaluation
    def new_association(self, tracker_config=None) -> BatchedAssociator:
        """A fresh association for the current batch, started from its first-frame boxes and
        embeddings (the tracker's own association is not touched). Feed it `detect`'s output
        to run several association settings (e.g. one per `selection_mode`) on one network
        pass. `tracker_config` defaults to this tracker's; it is checked by the associator.

        Raises RuntimeError before `initialize`, ValueError for a bad `tracker_config`.
        """
        if self._first_boxes_xyxy is None:
            raise RuntimeError("call initialize() before new_association()")
        association = BatchedAssociator(
            self.tracker_config if tracker_config is None else tracker_config,
            len(self._first_boxes_xyxy), self._num_targets)
        association.initialize(self._first_boxes_xyxy, self._first_embeddings)
        return association

    @property
    def first_frame_embeddings(self) -> np.ndarray:
        """(B, D) float32 re-id embeddings of the targets in their first frames (a copy)."""
        if self._first_embeddings is None:
            raise RuntimeError("call initialize() before reading first_frame_embeddings")
        return np.array(self._first_embeddings)

    def distractor_boxes(self, index: int = 0, target: int = 0) -> np.ndarray:
        """(M, 4) float64 x, y, w, h of the distractor tracklets of sequence `index` (its
        target `target`) (for drawing); also in each `TrackResult.distractors`."""
        if self._association is None:
            return np.zeros((0, 4))
        return np.asarray(xyxy_to_xywh(self._association.distractor_boxes(index, target),
                                       pixel_inclusive=self.pixel_inclusive),
                          np.float64).reshape(-1, 4)


class Tracker(_FromConfig):
    """One sequence: `initialize(frame, box_xywh)`, then `track(frame) -> TrackResult`.

    Built like `BatchedTracker` (`from_checkpoint`, `from_config`); exposes the same `config`,
    `tracker_config` and `input_hw`.
    """

    def __init__(self, model, variables, tracker_config, input_hw: Sequence[int], *,
                 config: ml_collections.ConfigDict | None = None):
        self._batched = BatchedTracker(model, variables, tracker_config, input_hw, config=config)

    @property
    def config(self) -> ml_collections.ConfigDict:
        return self._batched.config

    @property
    def tracker_config(self) -> ml_collections.ConfigDict:
        return self._batched.tracker_config

    @property
    def input_hw(self) -> tuple[int, int]:
        return self._batched.input_hw

    def initialize(self, frame: np.ndarray, box_xywh) -> None:
        """Starts a new sequence (forgetting any previous one), with one target or K.

        frame: uint8 RGB (H, W, 3), any size (resized by `resize_rule` into `input_hw` and
        zero-padded to a multiple of `canvas_multiple`; see `network.preprocess_frame`).
        box_xywh: (4,) x, y, w, h of the target in pixels of that frame (x, y the top-left
        corner; may start left of or above the frame but must overlap it), read in the
        tracker's `box_convention`. The network builds the target's kernels and first-frame
        re-id embedding once (paper section 3.5); they are never updated.
        Several targets: box_xywh (K, 4), one x, y, w, h row per target (a 2-D array, even for
        K = 1); `track` then returns K results. The K targets share one backbone pass per
        frame (see `BatchedTracker.initialize`); to add or drop a target, initialise again.

        Raises ValueError (one line) for a box that is not 4 finite numbers, has zero or
        negative size or lies outside the frame (naming the target for (K, 4)).
        """
        boxes = np.asarray(box_xywh, dtype=np.float64)
        if boxes.ndim == 2:
            if boxes.shape[0] < 1 or boxes.shape[1] != 4:
                raise ValueError(f"expected boxes (K, 4) x, y, w, h with K >= 1, got shape "
                                 f"{boxes.shape}")
            self._batched.initialize([frame], boxes[None])
        else:
            self._batched.initialize([frame], [box_xywh])

    @property
    def num_targets(self) -> int | None:
        """K after `initialize` with (K, 4) boxes, None after a single (4,) box."""
        return self._batched.num_targets

    def track(self, frame: np.ndarray) -> TrackResult | list[TrackResult]:
        """The next frame -> `TrackResult` (box (4,) float64 x, y, w, h in this frame's pixels,
        confidence in [0, 1], distractors (M, 4)); after `initialize` with (K, 4) boxes, a
        list of K `TrackResult`s in the order of the boxes (the result mirrors the init box's
        shape: a (4,) box gives one result, a (K, 4) array a list).

        frame: uint8 RGB (H, W, 3) of the size of the first frame (a video has one size). A
        frame of another size that pads to the same canvas is tracked (its boxes scaled by its
        own factor); one that gives another canvas is refused with a ValueError (re-initialise
        for a new frame size). Below `tracker_config.absent_confidence` the target is judged
        absent and the box is the last one reported while it was present.

        Raises RuntimeError before `initialize`, ValueError for a frame of another canvas size.
        """
        return self._batched.track([frame])[0]

    def distractor_boxes(self, target: int = 0) -> np.ndarray:
        """(M, 4) x, y, w, h of the distractor tracklets of target `target` seen this frame
        (for drawing; the same as the last `TrackResult.distractors`)."""
        return self._batched.distractor_boxes(0, target)
