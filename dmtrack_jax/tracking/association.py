"""Host-side association: which candidate of a frame is the target (paper 3.5, Table 1).

Three selection modes, the rows of the paper's Table 1:
  * `top1`: the highest-scoring candidate (the released tracker).
  * `position`: among the `position_top_k` best, the one nearest to the last target box.
  * `reid`: MOT philosophy. Every candidate is tracked as a tracklet (FairMOT-style stages),
    so look-alike distractors are held by their own tracklets and cannot take the target's
    place; the target is the tracklet created from frame 1's box. When that tracklet is lost,
    the unclaimed candidates are searched for a re-detection. How the target tracklet is
    costed and re-detected is `target_association`: 'fused' (default; tracking/target_cues.py:
    appearance, Kalman gate, IoU with the prediction and the detector's score together, then
    re-detection by appearance, score and a fading position prior) or 'fairmot' (the target
    costed like every tracklet, re-detected by appearance against the target's first-frame
    and smoothed embeddings alone).
Every mode reports a confidence per frame; below `absent_confidence` the target is judged
absent and the reported box is the last one.

The released tracker (issue 17 fact 11) is `top1` with `detection_min_score` 0,
`absent_confidence` 0 and `drop_degenerate_candidates` False (the GS config): the highest
scoring target-class candidate every frame, zero-size boxes included, no threshold. Where it
has no target-class candidate at all the authors' tracker crashes (argmax of an empty array);
ours then reports the target absent (confidence 0) with the last box.

Several targets in one video (`MultiTargetAssociator`): each target keeps its own association
state (its own tracklet pool, Kalman filters, embeddings) over its own head's candidates. In
`reid` mode the targets are stepped in order of their last confidence (the surest first) and
a candidate overlapping (IoU >= `CROSS_TARGET_IOU`) a box an earlier target claimed this frame
cannot become this target's: it is left to this target's distractor tracklets (MOT philosophy
across targets). `top1` and `position` ignore the other targets (K independent selections).

Without a re-id head (the released GS config) the embeddings are zero vectors of width 1;
`reid` then associates by gated motion + IoU and re-detects by score instead of appearance.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from dmtrack_jax.tracking.config import check_tracker_config
from dmtrack_jax.tracking.kalman import KalmanFilter, xyxy_to_xyah
from dmtrack_jax.tracking.matching import (cosine_distance, fuse_motion, iou_distance,
                                           linear_assignment, normalize_rows)
from dmtrack_jax.tracking.target_cues import (appearance_similarity, fused_confidence,
                                              redetection_value, relative_scores, target_cost)
from dmtrack_jax.tracking.tracklets import LOST, TRACKED, TrackletPool

# In 'reid' mode with several targets, a candidate whose IoU with a box another target claimed
# this frame reaches this value is that target's, a distractor for the others.
CROSS_TARGET_IOU = 0.5


@dataclasses.dataclass
class Candidates:
    """The detections of ONE frame in frame pixels: boxes (N, 4) x1, y1, x2, y2, scores (N,)
    in [0, 1], embeddings (N, D) L2-normalised. N may be 0."""

    boxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray

    def __post_init__(self):
        boxes = np.asarray(self.boxes, dtype=np.float64)
        scores = np.asarray(self.scores, dtype=np.float64)
        embeddings = np.asarray(self.embeddings, dtype=np.float64)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"Candidates.boxes must be (N, 4) x1,y1,x2,y2, got {boxes.shape}")
        n = boxes.shape[0]
        scores = scores.reshape(-1) if scores.ndim <= 1 else scores
        if scores.shape != (n,):
            raise ValueError(f"Candidates.scores must be ({n},) for {n} boxes, got "
                             f"{scores.shape}")
        if embeddings.size == 0 and n == 0:
            embeddings = embeddings.reshape(0, embeddings.shape[-1] if embeddings.ndim == 2
                                            else 1)
        if embeddings.ndim != 2 or embeddings.shape[0] != n:
            raise ValueError(f"Candidates.embeddings must be ({n}, D) for {n} boxes, got "
                             f"{embeddings.shape}")
        for name, value in (("boxes", boxes), ("scores", scores), ("embeddings", embeddings)):
            if not np.all(np.isfinite(value)):
                bad = np.argwhere(~np.isfinite(value))[0]
                raise ValueError(f"Candidates.{name} has a NaN or infinite value at index "
                                 f"{tuple(int(i) for i in bad)}")
        self.boxes, self.scores, self.embeddings = boxes, scores, embeddings

    def __len__(self) -> int:
        return self.boxes.shape[0]

    @classmethod
    def empty(cls, embedding_dim: int = 1) -> "Candidates":
        return cls(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, embedding_dim)))

    def subset(self, index) -> "Candidates":
        return Candidates(self.boxes[index], self.scores[index], self.embeddings[index])


class TargetAssociator:
    """Follows ONE target through a sequence of candidate sets (one per frame)."""

    def __init__(self, config):
        check_tracker_config(config)
        self.config = config
        self.mode = config.selection_mode
        self.kalman = KalmanFilter(config.kalman_std_weight_position,
                                   config.kalman_std_weight_velocity)
        self.frame = 0
        self.target_box = None
        self.pool = None
        self.target_id = -1
        self.first_embedding = None
        self.has_appearance = False
        self.target_lost_since = None  # frame at which the target tracklet was first unmatched
        self._others = np.zeros((0, 4))  # boxes of non-target candidates ('top1'/'position')

    # ------------------------------------------------------------------ public API
    def initialize(self, box_xyxy, embedding) -> None:
        """Frame 1: the target tracklet from the given box; it keeps `embedding` for life."""
        box = np.asarray(box_xyxy, dtype=np.float64).reshape(-1)
        if box.shape != (4,) or not np.all(np.isfinite(box)):
            raise ValueError(f"initial box must be 4 finite numbers x1,y1,x2,y2, got {box_xyxy!r}")
        if box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError(f"initial box {box.tolist()} has zero or negative size")
        embedding = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if embedding.size == 0 or not np.all(np.isfinite(embedding)):
            raise ValueError(f"initial embedding must be a finite non-empty vector, got shape "
                             f"{embedding.shape}")
        self.frame = 1
        self.target_box = box
        self.first_embedding = normalize_rows(embedding[None])[0]
        # A zero vector (no re-id head) carries no appearance: fall back to motion + IoU.
        self.has_appearance = bool(np.linalg.norm(embedding) > 1e-6)
        self.pool = TrackletPool(self.kalman, embedding.size)
        self.target_id = int(self.pool.add(box[None], self.first_embedding[None], self.frame,
                                           confirmed=True)[0])
        self.target_lost_since = None
        self._others = np.zeros((0, 4))

    def update(self, candidates: Candidates, taken_xyxy=None) -> tuple[np.ndarray, float]:
        """One frame -> (box x1, y1, x2, y2, confidence).

        The confidence is the chosen candidate's score; 0 when no candidate is the target.
        Below `absent_confidence` the target is judged absent and the box is the last one
        reported while it was present.

        taken_xyxy: optional (M, 4) x1, y1, x2, y2 boxes other targets of the same video claimed
        this frame. In 'reid' mode a candidate with IoU >= `CROSS_TARGET_IOU` with one of them
        cannot be matched or re-detected as this target (it stays available to the distractor
        tracklets); the other modes ignore it.
        """
        if self.pool is None:
            raise RuntimeError("call initialize() before update()")
        if len(candidates) and candidates.embeddings.shape[1] != self.first_embedding.size:
            raise ValueError(f"candidate embeddings have width {candidates.embeddings.shape[1]}"
                             f" but the first-frame embedding has {self.first_embedding.size}")
        self.frame += 1
        candidates = self._usable(candidates)
        if self.mode == "reid":
            barred = np.zeros(len(candidates), bool)
            if taken_xyxy is not None and len(candidates):
                taken = np.asarray(taken_xyxy, np.float64).reshape(-1, 4)
                if len(taken):
                    overlap = 1.0 - iou_distance(taken, candidates.boxes)
                    barred = np.any(overlap >= CROSS_TARGET_IOU, axis=0)
            chosen = self._associate(candidates, barred)
        else:
            chosen = self._select_without_tracklets(candidates)
        if chosen is None:
            return self.target_box.copy(), 0.0
        box, confidence = candidates.boxes[chosen], float(candidates.scores[chosen])
        if self.mode == "reid" and self._fused:
            confidence = fused_confidence(self.config, confidence,
                                          self._similarity(candidates)[chosen],
                                          self.has_appearance)
        if confidence < self.config.absent_confidence:
            return self.target_box.copy(), confidence
        self.target_box = box.copy()
        return box.copy(), confidence

    def distractor_boxes(self) -> np.ndarray:
        """(K, 4) x1, y1, x2, y2 of the distractors seen this frame (for drawing)."""
        if self.mode != "reid" or self.pool is None:
            return self._others.copy()
        pool = self.pool
        seen = ((pool.state == TRACKED) & pool.confirmed & (pool.last_frame == self.frame)
                & (pool.ids != self.target_id))
        return pool.boxes[seen].copy()

    @property
    def tracklet_ids(self) -> np.ndarray:
        return np.zeros((0,), np.int64) if self.pool is None else self.pool.ids.copy()

    # ------------------------------------------------------------------ helpers
    @property
    def _fused(self) -> bool:
        return self.config.get("target_association", "fairmot") == "fused"

    def _similarity(self, candidates: Candidates) -> np.ndarray:
        """(N,) best cosine similarity of each candidate to the target's first-frame and
        smoothed embeddings (1 without a re-id head: appearance then says nothing)."""
        if not self.has_appearance:
            return np.ones(len(candidates))
        row = self.pool.row_of(self.target_id)
        references = np.stack([self.first_embedding, self.pool.embeddings[row]])
        return appearance_similarity(references, candidates.embeddings)

    def _usable(self, candidates: Candidates) -> Candidates:
        """Drops scores below `detection_min_score` and, with `drop_degenerate_candidates`
        (always in 'reid' mode, whose Kalman state needs an aspect ratio), boxes of zero width
        or height. The released tracker (GS config: 0.0 and False, 'top1') keeps them all,
        zero-size boxes included."""
        b = candidates.boxes
        keep = candidates.scores >= self.config.detection_min_score
        # 'reid' never keeps them: a zero height has no aspect ratio for the Kalman state.
        if self.config.get("drop_degenerate_candidates", True) or self.mode == "reid":
            keep &= (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
        usable = candidates.subset(keep)
        # Unit length from here on, so the cost matrices need not re-normalise every call.
        usable.embeddings = normalize_rows(usable.embeddings)
        return usable

    def _select_without_tracklets(self, candidates: Candidates):
        if len(candidates) == 0:
            self._others = np.zeros((0, 4))
            return None
        if self.mode == "top1":
            chosen = int(np.argmax(candidates.scores))
        else:  # 'position': nearest centre among the best few
            best = np.argsort(-candidates.scores, kind="stable")[: self.config.position_top_k]
            centres = 0.5 * (candidates.boxes[best, :2] + candidates.boxes[best, 2:])
            last_centre = 0.5 * (self.target_box[:2] + self.target_box[2:])
            chosen = int(best[np.argmin(np.sum((centres - last_centre) ** 2, axis=1))])
        others = np.ones(len(candidates), bool)
        others[chosen] = False
        others &= candidates.scores >= self.config.new_track_score_threshold
        self._others = candidates.boxes[others]
        return chosen

    def _associate(self, candidates: Candidates, barred=None):
        """The 'reid' step: three matching stages, re-detection, tracklet birth and death.

        barred: (N,) bool, candidates the target tracklet may not take (other targets' claims).
        Returns the index of the target's candidate, or None when the target is not found.
        """
        c, pool, n = self.config, self.pool, len(candidates)
        if barred is None:
            barred = np.zeros(n, bool)
        momentum = c.embedding_momentum if self.has_appearance else 1.0
        pool.predict()
        claimed_by = np.full(n, -1, np.int64)  # pool row that took each candidate
        tracked = pool.state == TRACKED
        target_row = pool.row_of(self.target_id)

        # Stage 1: confirmed tracked + lost tracklets, appearance fused with gated motion.
        rows = np.flatnonzero((tracked & pool.confirmed) | (pool.state == LOST))
        det_xyah = xyxy_to_xyah(candidates.boxes)
        gating = self.kalman.gating_distance(pool.mean[rows], pool.covariance[rows], det_xyah)
        if self.has_appearance:
            cost = cosine_distance(pool.embeddings[rows], candidates.embeddings, normalized=True)
            is_target = rows == target_row
            if np.any(is_target) and n:
                first = cosine_distance(self.first_embedding[None], candidates.embeddings,
                                        normalized=True)
                cost[is_target] = np.minimum(cost[is_target], first)
            threshold = c.embedding_match_threshold
        else:
            cost = iou_distance(pool.predicted_boxes(rows), candidates.boxes)
            threshold = c.iou_match_threshold
        cost = fuse_motion(cost, gating, c.motion_gate_threshold,
                           c.appearance_weight if self.has_appearance else 1.0)
        fused = self._fused
        if fused and np.any(rows == target_row) and n:
            t = int(np.flatnonzero(rows == target_row)[0])
            own = target_cost(c, self._similarity(candidates), gating[t],
                              pool.predicted_boxes([target_row])[0], candidates.boxes,
                              relative_scores(candidates.scores), self.has_appearance)
            # Shifted onto the stage's threshold: matched iff own <= target_match_threshold.
            cost[t] = own - float(c.target_match_threshold) + threshold
        cost[np.ix_(rows == target_row, barred)] = np.inf
        matches, left_rows, left_dets = linear_assignment(cost, threshold)
        claimed_by[matches[:, 1]] = rows[matches[:, 0]]

        # Stage 2: tracked tracklets still unmatched, by IoU with their predicted boxes.
        rows2 = rows[left_rows]
        rows2 = rows2[pool.state[rows2] == TRACKED]
        if fused:  # the target's overlap with its prediction is already in its own cost
            rows2 = rows2[rows2 != target_row]
        cost = iou_distance(pool.predicted_boxes(rows2), candidates.boxes[left_dets])
        cost[np.ix_(rows2 == target_row, barred[left_dets])] = np.inf
        matches, _, left = linear_assignment(cost, c.iou_match_threshold)
        claimed_by[left_dets[matches[:, 1]]] = rows2[matches[:, 0]]
        left_dets = left_dets[left]

        # Stage 3: tracklets seen only once (unconfirmed), by a looser IoU.
        rows3 = np.flatnonzero(tracked & ~pool.confirmed)
        cost = iou_distance(pool.predicted_boxes(rows3), candidates.boxes[left_dets])
        matches, unmatched3, _ = linear_assignment(cost, c.unconfirmed_match_threshold)
        claimed_by[left_dets[matches[:, 1]]] = rows3[matches[:, 0]]
        remove = np.zeros(len(pool), bool)
        remove[rows3[unmatched3]] = True

        matched_dets = np.flatnonzero(claimed_by >= 0)
        matched_rows = claimed_by[matched_dets]
        matched_mask = np.zeros(len(pool), bool)
        matched_mask[matched_rows] = True
        pool.state[tracked & pool.confirmed & ~matched_mask] = LOST

        target_det = None
        hit = np.flatnonzero(matched_rows == target_row)
        if hit.size:
            target_det = int(matched_dets[hit[0]])
            self.target_lost_since = None
        else:
            if self.target_lost_since is None:
                self.target_lost_since = self.frame
            target_det = self._redetect(candidates, claimed_by, barred)
            if target_det is not None:
                absorbed = claimed_by[target_det]
                if absorbed >= 0:
                    remove[absorbed] = True
                    keep = matched_rows != absorbed
                    matched_dets, matched_rows = matched_dets[keep], matched_rows[keep]
                claimed_by[target_det] = target_row
                pool.restart(target_row, candidates.boxes[target_det],
                             candidates.embeddings[target_det], self.frame, momentum)
                self.target_lost_since = None

        pool.correct(matched_rows, candidates.boxes[matched_dets],
                     candidates.embeddings[matched_dets], self.frame, momentum)

        expired = ((pool.state == LOST) & (self.frame - pool.last_frame > c.lost_buffer)
                   & (pool.ids != self.target_id))
        pool.keep(~(remove | expired))

        births = (claimed_by < 0) & (candidates.scores >= c.new_track_score_threshold)
        if np.any(births):
            pool.add(candidates.boxes[births], candidates.embeddings[births], self.frame,
                     confirmed=False)
        return target_det

    def _redetect(self, candidates: Candidates, claimed_by: np.ndarray, barred=None):
        """A lost target's candidate among the unclaimed ones (and, optionally, those claimed
        by tracklets born since the target was lost). None if nothing is convincing."""
        c, pool = self.config, self.pool
        eligible = claimed_by < 0
        if c.redetect_from_new_tracklets and np.any(claimed_by >= 0):
            owner = np.maximum(claimed_by, 0)
            born_since = pool.start_frame[owner] >= self.target_lost_since
            eligible |= (claimed_by >= 0) & born_since & (owner != pool.row_of(self.target_id))
        if barred is not None:
            eligible &= ~barred
        index = np.flatnonzero(eligible)
        if index.size == 0:
            return None
        if self._fused:
            value = redetection_value(c, self._similarity(candidates)[index],
                                      relative_scores(candidates.scores)[index],
                                      candidates.boxes[index],
                                      self.target_box, self.frame - self.target_lost_since + 1,
                                      self.has_appearance)
            best = int(np.argmax(value))
            return int(index[best]) if value[best] >= c.redetect_threshold else None
        if self.has_appearance:
            similarity = self._similarity(candidates)[index]
            best = int(np.argmax(similarity))
            return int(index[best]) if similarity[best] >= c.redetect_similarity_threshold else None
        scores = candidates.scores[index]
        best = int(np.argmax(scores))
        return int(index[best]) if scores[best] >= c.redetect_score_threshold else None


class MultiTargetAssociator:
    """K targets of ONE video, each with its own `TargetAssociator` over its own candidates.

    `update` steps the targets in order of their last confidence (highest first, ties by
    index; all 1 after `initialize`); in 'reid' mode each target is given the boxes the
    targets before it claimed this frame (present ones: confidence > 0 and >=
    `absent_confidence`) as `taken_xyxy`, so a candidate is never the target of two targets at
    once (see `TargetAssociator.update`). In 'top1' / 'position' the targets are independent
    and each gives exactly what a one-target associator gives on its candidates.
    """

    def __init__(self, config, num_targets: int):
        if int(num_targets) < 1:
            raise ValueError(f"the number of targets must be >= 1, got {num_targets}")
        self.associators = [TargetAssociator(config) for _ in range(int(num_targets))]
        self._last_confidence = np.ones(int(num_targets))

    def initialize(self, boxes_xyxy, embeddings) -> None:
        """boxes_xyxy (K, 4) x1, y1, x2, y2 frame pixels; embeddings (K, D) first-frame."""
        k = len(self.associators)
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
        embeddings = np.asarray(embeddings, dtype=np.float64)
        if boxes.shape != (k, 4):
            raise ValueError(f"expected {k} initial target boxes (K, 4) x1,y1,x2,y2, got "
                             f"{boxes.shape}")
        if embeddings.ndim != 2 or embeddings.shape[0] != k:
            raise ValueError(f"expected {k} first-frame embeddings (K, D), got "
                             f"{embeddings.shape}")
        for associator, box, embedding in zip(self.associators, boxes, embeddings):
            associator.initialize(box, embedding)
        self._last_confidence = np.ones(k)

    def update(self, candidates: Sequence[Candidates]) -> tuple[np.ndarray, np.ndarray]:
        """K candidate sets (target k's head's) -> boxes (K, 4) x1, y1, x2, y2, confidences (K,)."""
        k = len(self.associators)
        if len(candidates) != k:
            raise ValueError(f"got {len(candidates)} candidate sets for {k} targets")
        boxes, confidences = np.zeros((k, 4)), np.zeros(k)
        taken: list[np.ndarray] = []
        for t in np.argsort(-self._last_confidence, kind="stable"):
            associator = self.associators[t]
            boxes[t], confidences[t] = associator.update(
                candidates[t], np.asarray(taken).reshape(-1, 4) if taken else None)
            if confidences[t] > 0 and confidences[t] >= associator.config.absent_confidence:
                taken.append(boxes[t])
        self._last_confidence = confidences.copy()
        return boxes, confidences

    def distractor_boxes(self, target: int) -> np.ndarray:
        """(M, 4) x1, y1, x2, y2 of target `target`'s distractor tracklets this frame."""
        if not 0 <= target < len(self.associators):
            raise IndexError(f"target {target} of {len(self.associators)}")
        return np.asarray(self.associators[target].distractor_boxes(), np.float64).reshape(-1, 4)


class BatchedAssociator:
    """B sequences stepped together: one `TargetAssociator` per sequence
    (`num_targets=None`, the one-target interface: (B, 4) boxes) or one
    `MultiTargetAssociator` of K targets per sequence (`num_targets=K`: (B, K, 4) boxes)."""

    def __init__(self, config, batch_size: int, num_targets: int | None = None):
        if int(batch_size) < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.num_targets = None if num_targets is None else int(num_targets)
        self.sequences = [MultiTargetAssociator(config, self.num_targets or 1)
                          for _ in range(int(batch_size))]
        # The one-target view (per sequence, its only target's associator).
        self.associators = [s.associators[0] for s in self.sequences]

    def initialize(self, boxes_xyxy, embeddings) -> None:
        """boxes (B, 4) and embeddings (B, D), or (B, K, 4) and (B, K, D) with num_targets K."""
        b = len(self.sequences)
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
        embeddings = np.asarray(embeddings, dtype=np.float64)
        if self.num_targets is None:
            if boxes.shape != (b, 4):
                raise ValueError(f"expected {b} initial boxes (B, 4) x1,y1,x2,y2, got "
                                 f"{boxes.shape}")
            if embeddings.ndim != 2 or embeddings.shape[0] != b:
                raise ValueError(f"expected {b} first-frame embeddings (B, D), got "
                                 f"{embeddings.shape}")
            boxes, embeddings = boxes[:, None], embeddings[:, None]
        elif boxes.shape != (b, self.num_targets, 4) or embeddings.ndim != 3 \
                or embeddings.shape[:2] != (b, self.num_targets):
            raise ValueError(f"expected initial boxes ({b}, {self.num_targets}, 4) and "
                             f"embeddings ({b}, {self.num_targets}, D), got {boxes.shape} and "
                             f"{embeddings.shape}")
        for sequence, box, embedding in zip(self.sequences, boxes, embeddings):
            sequence.initialize(box, embedding)

    def update(self, candidates) -> tuple[np.ndarray, np.ndarray]:
        """B candidate sets -> boxes (B, 4) x1, y1, x2, y2 and confidences (B,); with
        num_targets K, B sequences of K candidate sets -> (B, K, 4) and (B, K)."""
        if len(candidates) != len(self.sequences):
            raise ValueError(f"got {len(candidates)} candidate sets for "
                             f"{len(self.sequences)} sequences")
        if self.num_targets is None:
            candidates = [[c] for c in candidates]
        results = [s.update(c) for s, c in zip(self.sequences, candidates)]
        boxes = np.stack([r[0] for r in results])
        confidences = np.stack([r[1] for r in results]).astype(np.float64)
        if self.num_targets is None:
            return boxes[:, 0], confidences[:, 0]
        return boxes, confidences

    def distractor_boxes(self, index: int, target: int = 0) -> np.ndarray:
        """(M, 4) x1, y1, x2, y2 of the distractors sequence `index` (its target `target`)
        saw this frame."""
        if not 0 <= index < len(self.sequences):
            raise IndexError(f"sequence {index} of a batch of {len(self.sequences)}")
        return self.sequences[index].distractor_boxes(target)
