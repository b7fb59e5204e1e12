"""Inside-jit post-processing for ONE image and ONE target: top-k, box decoding, greedy NMS.

Static shapes throughout: every level contributes min(pre_nms_top_k, H_l * W_l) candidates,
NMS keeps at most `max_detections`, and slots that hold nothing are marked invalid.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dmtrack_common.boxes import aligned_iou_jnp


def level_points(height: int, width: int, stride: int) -> jax.Array:
    """Image-plane location of every cell of a (height, width) map: x = j*s + s//2 (paper eq. 1)."""
    ys = jnp.arange(height, dtype=jnp.float32) * stride + stride // 2
    xs = jnp.arange(width, dtype=jnp.float32) * stride + stride // 2
    grid_y, grid_x = jnp.meshgrid(ys, xs, indexing="ij")
    return jnp.stack([grid_x, grid_y], axis=-1)  # (H, W, 2) as (x, y)


def decode_boxes(points: jax.Array, distances: jax.Array) -> jax.Array:
    """(x, y) points and (l, t, r, b) distances -> x1, y1, x2, y2."""
    return jnp.concatenate([points - distances[..., :2], points + distances[..., 2:]], axis=-1)


def greedy_nms(boxes: jax.Array, scores: jax.Array, iou_threshold: float, max_out: int,
               min_score: float = 0.0, valid: jax.Array | None = None,
               groups: jax.Array | None = None):
    """Greedy NMS, truncated after `max_out` picks.

    Each round picks the highest remaining score and removes every box overlapping it by more
    than `iou_threshold` (IoU of continuous boxes, no +1 pixel term) — exactly classic NMS,
    stopped once `max_out` boxes are kept, so it costs max_out rounds of O(N) work instead of
    O(N) rounds. Entries take part where `valid` (N,) bool is True, or by default where
    score >= `min_score`. With `groups` (N,) int, a pick suppresses only boxes of its own
    group: per-class NMS, whose survivors come out merged in one descending score order, so
    the first `max_out` picks are the best `max_out` of all classes together (mmdet's
    batched NMS, then the cap).
    Returns (indices (max_out,), valid (max_out,)); invalid slots repeat index 0.
    """
    usable = scores >= min_score if valid is None else valid
    remaining = jnp.where(usable, scores, -jnp.inf)

    def body(i, carry):
        remaining, picked, valid = carry
        best = jnp.argmax(remaining)
        ok = jnp.isfinite(remaining[best])
        overlaps = aligned_iou_jnp(boxes[best][None], boxes) > iou_threshold
        if groups is not None:
            overlaps = overlaps & (groups == groups[best])
        remaining = jnp.where(ok & overlaps, -jnp.inf, remaining)
        remaining = remaining.at[best].set(-jnp.inf)
        picked = picked.at[i].set(jnp.where(ok, best, 0))
        valid = valid.at[i].set(ok)
        return remaining, picked, valid

    picked = jnp.zeros((max_out,), jnp.int32)
    valid = jnp.zeros((max_out,), bool)
    _, picked, valid = jax.lax.fori_loop(0, max_out, body, (remaining, picked, valid))
    return picked, valid


def select_candidates(
    cls_logits: Sequence[jax.Array],
    reg: Sequence[jax.Array],
    ctr_logits: Sequence[jax.Array],
    strides: Sequence[int],
    pre_nms_top_k: int = 1000,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
    min_score: float = 0.0,
    target_class: int = 1,
    *,
    threshold_on: str = "score",
    classes: str = "target",
    clip_hw: jax.Array | None = None,
):
    """One image/target's head outputs (per level (H, W, C)) -> its target-class candidates.

    Args:
      cls_logits, ctr_logits: per level (H_l, W_l, C) class logits, (H_l, W_l, 1) centerness
        logits; reg: per level (H_l, W_l, 4) distances l, t, r, b in canvas pixels (>= 0).
      strides: per level; the location of cell (i, j) is (j*s + s//2, i*s + s//2) (eq. 1).
      pre_nms_top_k: locations kept per level (all of a level that has no more).
      iou_threshold: a box is suppressed by a better one (same class) when IoU > this.
      max_detections: K, the candidates kept after NMS.
      min_score, threshold_on: 'score': a candidate needs sigmoid(cls) * sigmoid(ctr) >=
        min_score; 'class_probability' (released, issue 17 fact 10): sigmoid(cls) >
        min_score, strictly, on the class probability before centerness.
      target_class: the channel of the target class (1; the released labels are all 1).
      classes: 'target': only the target class is scored, ranked (top-k per level by its
        score), NMS'd and capped. 'all' (released, facts 9-10): top-k per level by the best
        class's score, every class a candidate, NMS per class, the first K of the survivors of
        all classes by score, of which only the target class's are returned (valid).
      clip_hw: (2,) (h, w) or None; clamps x to [0, w], y to [0, h] after decoding (fact 9:
        the resized, unpadded frame, `w` not `w - 1`).

    Score = sigmoid(cls[c]) * sigmoid(ctr). Returns boxes (K, 4) x1, y1, x2, y2 float32 canvas
    pixels, scores (K,) float32 (0 where invalid) and valid (K,) bool, valid slots first in
    descending score order.
    """
    if threshold_on not in ("score", "class_probability"):
        raise ValueError(f"threshold_on={threshold_on!r}; expected 'score' or "
                         "'class_probability'")
    if classes not in ("target", "all"):
        raise ValueError(f"classes={classes!r}; expected 'target' or 'all'")
    all_boxes, all_scores, all_probs = [], [], []
    for cls, distances, ctr, stride in zip(cls_logits, reg, ctr_logits, strides):
        height, width = cls.shape[:2]
        probs = jax.nn.sigmoid(cls.astype(jnp.float32)).reshape(height * width, -1)
        if classes == "target":
            probs = probs[:, target_class:target_class + 1]
        score = probs * jax.nn.sigmoid(ctr[..., 0].astype(jnp.float32)).reshape(-1, 1)
        boxes = decode_boxes(level_points(height, width, stride),
                             distances.astype(jnp.float32)).reshape(-1, 4)
        k = min(pre_nms_top_k, score.shape[0])
        _, top_idx = jax.lax.top_k(score.max(axis=1), k)
        all_scores.append(score[top_idx])
        all_probs.append(probs[top_idx])
        all_boxes.append(boxes[top_idx])
    boxes = jnp.concatenate(all_boxes)  # (N, 4)
    if clip_hw is not None:
        hw = jnp.asarray(clip_hw, jnp.float32)
        limit = jnp.stack([hw[1], hw[0], hw[1], hw[0]])
        boxes = jnp.clip(boxes, 0.0, limit)
    scores = jnp.concatenate(all_scores)  # (N, C') C' = 1 ('target') or C ('all')
    probs = jnp.concatenate(all_probs)
    num_classes = scores.shape[1]
    usable = probs > min_score if threshold_on == "class_probability" else scores >= min_score
    flat_boxes = jnp.repeat(boxes, num_classes, axis=0)  # entry n * C' + c
    flat_scores, usable = scores.reshape(-1), usable.reshape(-1)
    groups = jnp.tile(jnp.arange(num_classes), boxes.shape[0]) if num_classes > 1 else None
    keep, valid = greedy_nms(flat_boxes, flat_scores, iou_threshold, max_detections,
                             valid=usable, groups=groups)
    if classes == "all":
        valid = valid & (keep % num_classes == target_class)
        # The target class's survivors first, still in descending score order.
        order = jnp.argsort((~valid).astype(jnp.int32), stable=True)
        keep, valid = keep[order], valid[order]
    return flat_boxes[keep], jnp.where(valid, flat_scores[keep], 0.0), valid


def sample_embeddings(embedding_map: jax.Array, boxes: jax.Array, stride: int = 4) -> jax.Array:
    """Reads the (h, w, D) embedding map at each box centre (nearest cell, clipped)."""
    height, width = embedding_map.shape[:2]
    cx = (boxes[:, 0] + boxes[:, 2]) * 0.5
    cy = (boxes[:, 1] + boxes[:, 3]) * 0.5
    col = jnp.clip(jnp.floor(cx / stride).astype(jnp.int32), 0, width - 1)
    row = jnp.clip(jnp.floor(cy / stride).astype(jnp.int32), 0, height - 1)
    return embedding_map[row, col]
