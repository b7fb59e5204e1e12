"""Pair sampling and identity sampling: from annotated sequences to fixed-shape numpy batches.

A batch is a pure function of (seed, batch kind, batch index): `PairSampler.sot_batch(i)` and
`PairSampler.reid_batch(i)` draw everything from ``np.random.default_rng([seed, kind, i])``, so
the grain loader is deterministic whatever its worker count, and a restored iterator resumes at
exactly the next batch.

SOT pairs (released DMTrack-GS recipe): a source is drawn by the mixing weights, then a
sequence, a template frame and a search frame at most `max_frame_gap` frames apart, both with
the target visible and passing the box filters. Video sources with several annotated objects
(MOT17, synthetic) add every other object visible in both frames as extra targets, the SOT
target first, up to `max_targets`; image sources (COCO) use the same image twice with all its
objects. Identity batches draw one frame from a source with identities and label each object
with a contiguous identity index (-1 unknown) for the re-id classifier.

Skips are documented behaviour, never silent: frames whose target is absent, NaN or not
positive, or fails the box filter are excluded up front and counted in `skip_counts` (logged
once per source); a pair whose target does not survive the augmentation is redrawn and counted.
A source with no usable frame raises ValueError naming it.

Batches (numpy, static shapes; B = batch size, T = max_targets, N = reid_max_objects, (H, W) one
canvas bucket shared by every image of the batch):
  SOT:      template_image, search_image (B, H, W, 3) float32 normalised RGB;
            template_boxes, search_boxes (B, T, 4) float32 x1, y1, x2, y2 canvas pixels, object
            k is the same object in both; box_valid (B, T) bool (valid in BOTH views; padded and
            invalid rows are zeros). Row 0 is the SOT target (or the drawn primary object).
  identity: image (B, H, W, 3); boxes (B, N, 4); ids (B, N) int32 contiguous identity labels,
            -1 unknown or padding; box_valid (B, N) bool.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from typing import Callable, Sequence as SequenceType

import numpy as np

from data_pipelines import augment as aug
from data_pipelines.sequence import Sequence
from dmtrack_common.boxes import xywh_to_xyxy
from dmtrack_common.frames import load_frame

logger = logging.getLogger(__name__)

MAX_DRAWS_PER_EXAMPLE = 64
KIND_SOT, KIND_REID = 0, 1


# ----------------------------------------------------------------------------- box filters


@dataclasses.dataclass(frozen=True)
class BoxFilter:
    """The released code's training box filters (thresholds from the data config)."""

    min_area: float = 20.0
    min_size: float = 10.0
    max_size: float = 960.0
    min_relative: float = 0.01
    max_relative: float = 0.75
    min_aspect: float = 0.2
    max_aspect: float = 5.0

    @classmethod
    def from_config(cls, config) -> "BoxFilter":
        return cls(**{f.name: float(config[f.name]) for f in dataclasses.fields(cls)})

    def keep(self, boxes_xywh: np.ndarray, image_hw: tuple[int, int] | None = None) -> np.ndarray:
        """(M,) bool for (M, 4) xywh boxes; NaN rows are False. Without `image_hw` the relative
        size test is skipped (it is applied again once the frame is loaded)."""
        boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
        w, h = boxes[:, 2], boxes[:, 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            keep = np.all(np.isfinite(boxes), axis=1) & (w * h > self.min_area)
            keep &= (w >= self.min_size) & (h >= self.min_size)
            keep &= (w <= self.max_size) & (h <= self.max_size)
            aspect = w / h
            keep &= (aspect >= self.min_aspect) & (aspect < self.max_aspect)
            if image_hw is not None:
                height, width = image_hw
                keep &= (w / width >= self.min_relative) & (w / width <= self.max_relative)
                keep &= (h / height >= self.min_relative) & (h / height <= self.max_relative)
        return keep


# ----------------------------------------------------------------------------- sources


class FrameSource:
    """A named set of sequences plus a way to read their frames.

    The default reads `frame_paths` from disk; `frame_reader(seq_index, frame_index)` replaces
    it for in-memory (synthetic) or tfds-backed sources. `pair_mode` is 'video' (template and
    search from different frames) or 'image' (COCO: one frame augmented twice).
    """

    def __init__(self, name: str, sequences: SequenceType[Sequence], pair_mode: str = "video",
                 frame_reader: Callable[[int, int], np.ndarray] | None = None):
        if pair_mode not in ("video", "image"):
            raise ValueError(f"source {name!r}: pair_mode must be 'video' or 'image', "
                             f"got {pair_mode!r}")
        self.name = name
        self.sequences = list(sequences)
        self.pair_mode = pair_mode
        self._frame_reader = frame_reader

    def read_frame(self, seq_index: int, frame_index: int) -> np.ndarray:
        if self._frame_reader is not None:
            return self._frame_reader(seq_index, frame_index)
        return load_frame(self.sequences[seq_index].frame_paths[frame_index])

    def describe(self, seq_index: int, frame_index: int) -> str:
        seq = self.sequences[seq_index]
        path = seq.frame_paths[frame_index] if frame_index < len(seq.frame_paths) else "?"
        return f"{self.name} sequence {seq.name!r} frame {frame_index} ({path})"


@dataclasses.dataclass
class _PreparedSequence:
    """Annotations of one sequence in array form: one column per object, the SOT target first."""

    seq_index: int
    boxes: np.ndarray  # (N, K, 4) xywh; column 0 is the SOT target when has_target
    ids: np.ndarray  # (K,) int64 track ids (-1: the target has no track of its own)
    usable: np.ndarray  # (N, K) bool: visible, finite, positive and passing the box filter
    has_target: bool  # False for MOT17/COCO: the primary object is drawn per pair
    anchor_frames: np.ndarray  # frames where a primary object is usable


def _same_track(track: np.ndarray, target: np.ndarray) -> bool:
    finite = np.all(np.isfinite(track), axis=1)
    return bool(finite.any() and np.array_equal(finite, np.all(np.isfinite(target), axis=1))
                and np.allclose(track[finite], target[finite]))


def _prepare(source: FrameSource, box_filter: BoxFilter, counts: collections.Counter
             ) -> list[_PreparedSequence]:
    prepared = []
    for seq_index, seq in enumerate(source.sequences):
        has_target = bool(seq.valid.any())
        target = np.where(seq.valid[:, None], seq.boxes, np.nan)
        columns, ids = ([target], [-1]) if has_target else ([], [])
        for track_id, track in sorted((seq.tracks or {}).items()):
            if has_target and _same_track(track, target):
                ids[0] = int(track_id)  # this track IS the target: keep its identity
                continue
            columns.append(track)
            ids.append(int(track_id))
        if not columns:
            counts["sequences_without_annotations"] += 1
            continue
        boxes = np.stack(columns, axis=1)  # (N, K, 4)
        with np.errstate(invalid="ignore"):
            positive = (boxes[..., 2] > 0) & (boxes[..., 3] > 0)
        finite = np.all(np.isfinite(boxes), axis=-1)
        passes = box_filter.keep(boxes.reshape(-1, 4), seq.image_size).reshape(finite.shape)
        usable = finite & positive & passes
        counts["object_boxes_nan_or_not_positive"] += int((~(finite & positive)).sum())
        counts["object_boxes_filtered"] += int((finite & positive & ~passes).sum())
        anchor_frames = np.flatnonzero(usable[:, 0] if has_target else usable.any(axis=1))
        if anchor_frames.size == 0:
            counts["sequences_without_usable_frame"] += 1
            continue
        prepared.append(_PreparedSequence(seq_index, boxes, np.asarray(ids, np.int64), usable,
                                          has_target, anchor_frames))
    return prepared


@dataclasses.dataclass
class RawView:
    """One loaded frame before augmentation: the primary object first in `boxes`."""

    image: np.ndarray  # uint8 RGB
    boxes: np.ndarray  # (M, 4) xyxy
    ids: np.ndarray  # (M,) int64 track ids (-1 = none)
    source_index: int
    seq_index: int
    frame_index: int
    where: str  # "source sequence frame (path)" for messages


# ----------------------------------------------------------------------------- sampler


class PairSampler:
    """Draws SOT pair batches and identity batches from a list of `FrameSource`s."""

    def __init__(self, sources: SequenceType[FrameSource], weights: SequenceType[float],
                 reid_weights: SequenceType[float] | None, *, seed: int, batch_size: int,
                 max_targets: int, reid_batch_size: int, reid_max_objects: int,
                 max_frame_gap: int, box_filter: BoxFilter, settings: aug.AugmentSettings,
                 buckets: SequenceType[aug.Bucket]):
        if not sources:
            raise ValueError("no data sources: enable at least one source in the data config")
        if len(weights) != len(sources):
            raise ValueError(f"{len(sources)} sources but {len(weights)} weights")
        self.seed, self.batch_size, self.max_targets = int(seed), int(batch_size), int(max_targets)
        self.reid_batch_size, self.reid_max_objects = int(reid_batch_size), int(reid_max_objects)
        self.max_frame_gap = int(max_frame_gap)
        self.box_filter, self.settings = box_filter, settings
        self.buckets = list(buckets)
        self.sources = list(sources)
        self.skip_counts: collections.Counter = collections.Counter()
        self.prepared = []
        for source in self.sources:
            counts: collections.Counter = collections.Counter()
            prepared = _prepare(source, box_filter, counts)
            if counts:
                logger.info("source %s: skipped %s", source.name, dict(counts))
            self.skip_counts.update({f"{source.name}/{k}": v for k, v in counts.items()})
            self.prepared.append(prepared)
        self.weights = self._normalise(weights, "weight", need_identities=False)
        self.reid_weights = (self._normalise(reid_weights, "reid_weight", need_identities=True)
                             if reid_weights is not None and any(w > 0 for w in reid_weights)
                             else None)
        self._build_identity_labels()

    def _normalise(self, weights, what: str, need_identities: bool) -> np.ndarray:
        weights = np.asarray(weights, dtype=np.float64)
        if np.any(~np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"source {what}s must be finite and >= 0, got {weights.tolist()}")
        for source, prepared, weight in zip(self.sources, self.prepared, weights):
            if weight <= 0:
                continue
            if not source.sequences:
                raise ValueError(f"source {source.name!r} is empty: no sequences were read")
            if not prepared:
                raise ValueError(
                    f"source {source.name!r}: none of its {len(source.sequences)} sequences has "
                    f"a usable frame (target visible, finite, positive and passing the box "
                    f"filter); skipped: {dict(self.skip_counts)}")
            if need_identities and not all(s.ids_are_identities and s.tracks
                                           for s in source.sequences):
                raise ValueError(f"source {source.name!r} has {what} > 0 but no identity "
                                 f"labels (only MOT-style sources can feed the re-id loss)")
        if weights.sum() <= 0:
            raise ValueError(f"all source {what}s are 0: nothing to sample")
        return weights / weights.sum()

    def _build_identity_labels(self) -> None:
        """Contiguous labels 0..num_identities-1 over (source, sequence, track id).

        MOT ids are unique only within a sequence, so the sequence is part of the key.
        """
        self.identity_labels: list[dict[tuple[int, int], int]] = []
        next_label = 0
        for index in range(len(self.sources)):
            table: dict[tuple[int, int], int] = {}
            if self.reid_weights is not None and self.reid_weights[index] > 0:
                for prepared in self.prepared[index]:
                    for track_id in prepared.ids:
                        if track_id >= 0:
                            table[(prepared.seq_index, int(track_id))] = next_label
                            next_label += 1
            self.identity_labels.append(table)
        self.num_identities = next_label

    # ------------------------------------------------------------------ raw draws

    def _load(self, source_index: int, prepared: _PreparedSequence, t: int,
              objects: np.ndarray) -> RawView:
        source = self.sources[source_index]
        image = source.read_frame(prepared.seq_index, t)
        return RawView(image, xywh_to_xyxy(prepared.boxes[t, objects]).reshape(-1, 4),
                       prepared.ids[objects], source_index, prepared.seq_index, t,
                       source.describe(prepared.seq_index, t))

    def draw_pair(self, rng: np.random.Generator) -> tuple[RawView, RawView] | None:
        """One raw (template, search) draw, or None if it was skipped (counted)."""
        source_index = int(rng.choice(len(self.sources), p=self.weights))
        source, prepared_list = self.sources[source_index], self.prepared[source_index]
        prepared = prepared_list[int(rng.integers(len(prepared_list)))]
        frames = prepared.anchor_frames
        t_template = int(frames[rng.integers(len(frames))])
        if prepared.has_target:
            primary = 0
        else:  # MOT17 / COCO: any object visible in the template frame can be the primary
            candidates = np.flatnonzero(prepared.usable[t_template])
            primary = int(candidates[rng.integers(len(candidates))])
        if source.pair_mode == "image":
            t_search = t_template
        else:
            frames = np.flatnonzero(prepared.usable[:, primary])
            near = frames[np.abs(frames - t_template) <= self.max_frame_gap]
            others = near[near != t_template]
            pool = others if others.size else near
            t_search = int(pool[rng.integers(len(pool))])
        both = prepared.usable[t_template] & prepared.usable[t_search]
        both[primary] = False
        extra = rng.permutation(np.flatnonzero(both))[: self.max_targets - 1]
        objects = np.concatenate([[primary], extra]).astype(np.int64)
        template = self._load(source_index, prepared, t_template, objects)
        search = (template if t_search == t_template
                  else self._load(source_index, prepared, t_search, objects))
        for view in (template, search):
            if not self._target_fits_frame(view):
                self.skip_counts[f"{source.name}/pairs_target_filtered_after_load"] += 1
                return None
        return template, search

    def _target_fits_frame(self, view: RawView) -> bool:
        """The relative-size filter needs the frame size; a target outside the frame is bad."""
        x1, y1, x2, y2 = view.boxes[0]
        height, width = view.image.shape[:2]
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            logger.warning("%s: target box (%g, %g, %g, %g) lies outside the %dx%d frame; "
                           "skipped", view.where, x1, y1, x2, y2, width, height)
            return False
        return bool(self.box_filter.keep([[x1, y1, x2 - x1, y2 - y1]], (height, width))[0])

    # ------------------------------------------------------------------ batches

    def _retry(self, draw: Callable[[], object | None], what: str) -> object:
        for _ in range(MAX_DRAWS_PER_EXAMPLE):
            result = draw()
            if result is not None:
                return result
        raise ValueError(f"could not draw a usable {what} in {MAX_DRAWS_PER_EXAMPLE} attempts; "
                         f"skip counts so far: {dict(self.skip_counts)}")

    def _check_filled(self, examples: list, size: int, what: str) -> None:
        if len(examples) < size:
            raise ValueError(f"could not fill a {what} batch: the target was lost in "
                             f"augmentation {MAX_DRAWS_PER_EXAMPLE * size} times (is "
                             f"augment.min_box_size too large?); skips: {dict(self.skip_counts)}")

    def _augment(self, view: RawView, bucket: aug.Bucket, rng: np.random.Generator):
        valid = np.ones(len(view.boxes), bool)
        return aug.augment_view(view.image, view.boxes, valid, bucket, rng, self.settings,
                                primary=0, where=view.where)

    def sot_batch(self, batch_index: int) -> dict[str, np.ndarray]:
        """Batch `batch_index` of SOT pairs (keys and shapes in the module docstring)."""
        rng = np.random.default_rng([self.seed, KIND_SOT, int(batch_index)])
        examples, bucket = [], None
        for _ in range(MAX_DRAWS_PER_EXAMPLE * self.batch_size):
            if len(examples) == self.batch_size:
                break
            template, search = self._retry(lambda: self.draw_pair(rng), "pair")
            if bucket is None:
                bucket = aug.choose_bucket(self.buckets, search.image.shape[:2], rng)
            example = self._augment_pair(template, search, bucket, rng)
            if example is not None:
                examples.append(example)
        self._check_filled(examples, self.batch_size, "SOT pair")
        return {key: np.stack([e[key] for e in examples]) for key in examples[0]}

    def _augment_pair(self, template: RawView, search: RawView, bucket: aug.Bucket,
                      rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        t_image, t_boxes, t_valid = self._augment(template, bucket, rng)
        s_image, s_boxes, s_valid = self._augment(search, bucket, rng)
        valid = t_valid & s_valid
        if not valid[0]:
            self.skip_counts["pairs_target_lost_in_augmentation"] += 1
            return None
        count, limit = len(valid), self.max_targets
        out_valid = np.zeros(limit, bool)
        out_valid[:count] = valid
        return {
            "template_image": t_image,
            "template_boxes": _pad(np.where(valid[:, None], t_boxes, 0.0), limit),
            "search_image": s_image,
            "search_boxes": _pad(np.where(valid[:, None], s_boxes, 0.0), limit),
            "box_valid": out_valid,
        }

    def draw_identity_frame(self, rng: np.random.Generator) -> RawView | None:
        """One raw frame with identity-labelled objects, or None if skipped (counted)."""
        if self.reid_weights is None:
            raise ValueError("no source has reid_weight > 0: identity batches are unavailable")
        source_index = int(rng.choice(len(self.sources), p=self.reid_weights))
        source, prepared_list = self.sources[source_index], self.prepared[source_index]
        prepared = prepared_list[int(rng.integers(len(prepared_list)))]
        has_identity = prepared.usable & (prepared.ids >= 0)[None, :]
        frames = np.flatnonzero(has_identity.any(axis=1))
        if frames.size == 0:
            self.skip_counts[f"{source.name}/identity_sequences_without_objects"] += 1
            return None
        t = int(frames[rng.integers(len(frames))])
        objects = rng.permutation(np.flatnonzero(has_identity[t]))[: self.reid_max_objects]
        return self._load(source_index, prepared, t, objects.astype(np.int64))

    def reid_batch(self, batch_index: int) -> dict[str, np.ndarray]:
        """Batch `batch_index` of identity images: image, boxes, ids (-1 unknown), box_valid."""
        rng = np.random.default_rng([self.seed, KIND_REID, int(batch_index)])
        examples, bucket = [], None
        limit = self.reid_max_objects
        for _ in range(MAX_DRAWS_PER_EXAMPLE * self.reid_batch_size):
            if len(examples) == self.reid_batch_size:
                break
            view = self._retry(lambda: self.draw_identity_frame(rng), "identity frame")
            if bucket is None:
                bucket = aug.choose_bucket(self.buckets, view.image.shape[:2], rng)
            image, boxes, valid = self._augment(view, bucket, rng)
            if not valid.any():
                self.skip_counts["identity_frames_lost_in_augmentation"] += 1
                continue
            table = self.identity_labels[view.source_index]
            labels = np.array([table.get((view.seq_index, int(i)), -1) for i in view.ids],
                              np.int32)
            ids = np.full(limit, -1, np.int32)
            ids[: len(labels)] = np.where(valid, labels, -1)
            out_valid = np.zeros(limit, bool)
            out_valid[: len(valid)] = valid
            examples.append({"image": image, "boxes": _pad(boxes, limit), "ids": ids,
                             "box_valid": out_valid})
        self._check_filled(examples, self.reid_batch_size, "identity")
        return {key: np.stack([e[key] for e in examples]) for key in examples[0]}


def _pad(boxes: np.ndarray, limit: int) -> np.ndarray:
    out = np.zeros((limit, 4), np.float32)
    out[: len(boxes)] = boxes
    return out
