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
               min_score: float = 0.0):
    """Greedy NMS, truncated after `max_out` picks.

    Each round picks the highest remaining score and removes every box overlapping it by more
    than `iou_threshold` — exactly classic NMS, stopped once `max_out` boxes are kept, so it
    costs max_out rounds of O(N) work instead of O(N) rounds.
    Returns (indices (max_out,), valid (max_out,)); invalid slots repeat index 0.
    """
    remaining = jnp.where(scores >= min_score, scores, -jnp.inf)

    def body(i, carry):
        remaining, picked, valid = carry
        best = jnp.argmax(remaining)
        ok = jnp.isfinite(remaining[best])
        overlaps = aligned_iou_jnp(boxes[best][None], boxes) > iou_threshold
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
):
    """One image/target's head outputs (per level (H, W, C)) -> top candidates.

    Score = sigmoid(cls[target_class]) * sigmoid(ctr); top `pre_nms_top_k` per level; boxes
    decoded at each cell's image point; greedy NMS. Returns boxes (K, 4), scores (K,),
    valid (K,), K = max_detections, sorted by score.
    """
    all_boxes, all_scores = [], []
    for cls, distances, ctr, stride in zip(cls_logits, reg, ctr_logits, strides):
        height, width = cls.shape[:2]
        score = (jax.nn.sigmoid(cls[..., target_class].astype(jnp.float32))
                 * jax.nn.sigmoid(ctr[..., 0].astype(jnp.float32))).reshape(-1)
        boxes = decode_boxes(level_points(height, width, stride),
                             distances.astype(jnp.float32)).reshape(-1, 4)
        k = min(pre_nms_top_k, score.shape[0])
        top_scores, top_idx = jax.lax.top_k(score, k)
        all_scores.append(top_scores)
        all_boxes.append(boxes[top_idx])
    boxes = jnp.concatenate(all_boxes)
    scores = jnp.concatenate(all_scores)
    keep, valid = greedy_nms(boxes, scores, iou_threshold, max_detections, min_score)
    return boxes[keep], jnp.where(valid, scores[keep], 0.0), valid


def sample_embeddings(embedding_map: jax.Array, boxes: jax.Array, stride: int = 4) -> jax.Array:
    """Reads the (h, w, D) embedding map at each box centre (nearest cell, clipped)."""
    height, width = embedding_map.shape[:2]
    cx = (boxes[:, 0] + boxes[:, 2]) * 0.5
    cy = (boxes[:, 1] + boxes[:, 3]) * 0.5
    col = jnp.clip(jnp.floor(cx / stride).astype(jnp.int32), 0, width - 1)
    row = jnp.clip(jnp.floor(cy / stride).astype(jnp.int32), 0, height - 1)
    return embedding_map[row, col]
