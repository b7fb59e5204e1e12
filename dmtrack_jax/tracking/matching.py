"""Cost matrices and thresholded Hungarian assignment for tracklet association.

All functions take whole (T, ...) and (N, ...) arrays and return (T, N) matrices: the per-frame
association is a handful of numpy calls, never a Python loop over tracklet/candidate pairs.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from dmtrack_common.boxes import iou_matrix


def iou_distance(boxes_a, boxes_b) -> np.ndarray:
    """(M, 4), (N, 4) continuous x1, y1, x2, y2 -> (M, N) 1 - IoU."""
    return 1.0 - iou_matrix(boxes_a, boxes_b)


def normalize_rows(vectors) -> np.ndarray:
    """L2-normalises rows; all-zero rows stay zero (no NaN)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def cosine_distance(embeddings_a, embeddings_b, normalized: bool = False) -> np.ndarray:
    """(T, D), (N, D) -> (T, N) 1 - cosine similarity, clipped to [0, 2].

    `normalized=True` skips re-normalising rows the caller already holds at unit length.
    """
    a = np.asarray(embeddings_a, dtype=np.float64)
    b = np.asarray(embeddings_b, dtype=np.float64)
    if not normalized:
        a, b = normalize_rows(a), normalize_rows(b)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def fuse_motion(appearance_cost, gating_distance, gate_threshold: float,
                appearance_weight: float) -> np.ndarray:
    """Mixes appearance with squared Mahalanobis distance; pairs outside the gate cost inf.

    The gate is a hard motion prior (chi2 0.95 for 4 dof by default): a look-alike far from
    where a tracklet can plausibly be is never its match, however similar it looks.
    """
    cost = appearance_weight * appearance_cost + (1.0 - appearance_weight) * gating_distance
    return np.where(gating_distance > gate_threshold, np.inf, cost)


def linear_assignment(cost, threshold: float):
    """Minimum-cost one-to-one matching in which leaving a pair unmatched costs `threshold`.

    Returns (matches (K, 2) int [row, col], unmatched rows, unmatched cols). The objective is
    the sum over matched pairs of (cost - threshold): a pair is only worth matching if it is
    cheaper than leaving its row and column unmatched, so one confident match is preferred over
    two marginal ones (the `cost_limit` semantics of the lap solver FairMOT uses). Clipping the
    cost at the threshold turns that into a plain rectangular assignment for scipy.
    """
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return (np.zeros((0, 2), np.int64), np.arange(rows), np.arange(cols))
    row_idx, col_idx = linear_sum_assignment(np.minimum(cost, threshold))
    keep = cost[row_idx, col_idx] <= threshold
    matches = np.stack([row_idx[keep], col_idx[keep]], axis=1).astype(np.int64)
    row_free = np.ones(rows, bool)
    row_free[matches[:, 0]] = False
    col_free = np.ones(cols, bool)
    col_free[matches[:, 1]] = False
    unmatched_rows, unmatched_cols = np.flatnonzero(row_free), np.flatnonzero(col_free)
    return matches, unmatched_rows, unmatched_cols
