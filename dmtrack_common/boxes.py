"""Box conversions and IoU: the one home for them in the project.

Two coordinate conventions occur in tracking code; every function here says which it uses.

* **continuous** (the default everywhere in this project: the network, the training targets,
  the association): a box covers the real interval [x1, x2) x [y1, y2); ``x2 = x + w``,
  ``w = x2 - x1``, area ``w * h``. Pixel centres sit at integer + 0.5 only by convention of the
  caller; nothing here depends on it.
* **pixel-inclusive** (``pixel_inclusive=True``): x1 and x2 both name pixels inside the box, so
  ``x2 = x + w - 1`` and ``w = x2 - x1 + 1``. The LaSOT/OTB MATLAB toolkits and the released
  DMTrack tracker (its first box) use it.

The toolkits' own overlap conventions (inclusive-pixel IoU, clipping to the image, VOT's
bounds) are part of what they score and live with the metrics in `eval/overlap.py`.

numpy functions compute in float64; the `_jnp` ones are traceable and keep the input dtype.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def xywh_to_xyxy(boxes, pixel_inclusive: bool = False) -> np.ndarray:
    """(..., 4) x, y, w, h -> (..., 4) x1, y1, x2, y2, float64.

    Continuous: x2 = x + w. Pixel-inclusive: x2 = x + w - 1.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    offset = 1.0 if pixel_inclusive else 0.0
    return np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:4] - offset], axis=-1)


def xyxy_to_xywh(boxes, pixel_inclusive: bool = False) -> np.ndarray:
    """(..., 4) x1, y1, x2, y2 -> (..., 4) x, y, w, h, float64 (inverse of `xywh_to_xyxy`)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    offset = 1.0 if pixel_inclusive else 0.0
    return np.concatenate([boxes[..., :2], boxes[..., 2:4] - boxes[..., :2] + offset], axis=-1)


def iou_matrix(boxes_a, boxes_b) -> np.ndarray:
    """(M, 4), (N, 4) continuous x1, y1, x2, y2 -> (M, N) IoU, float64.

    Widths and heights below zero count as zero; a pair whose union is empty has IoU 0 (no
    NaN). Computed per coordinate as (M, 1) against (1, N): no (M, N, 2) temporaries.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    inter_w = np.minimum(a[:, 2:3], b[:, 2]) - np.maximum(a[:, 0:1], b[:, 0])
    inter_h = np.minimum(a[:, 3:4], b[:, 3]) - np.maximum(a[:, 1:2], b[:, 1])
    inter = np.maximum(inter_w, 0.0) * np.maximum(inter_h, 0.0)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0.0) * np.maximum(a[:, 3] - a[:, 1], 0.0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def aligned_iou_jnp(boxes_a, boxes_b, eps: float = 1e-9):
    """(..., 4), (..., 4) continuous x1, y1, x2, y2 (broadcast) -> (...) IoU of each pair;
    traceable (jit/vmap). `a[:, None]` against `b[None]` gives the (M, N) matrix.

    The union is floored at `eps` (NMS uses 1e-9; mmdet's IoU loss 1e-6), so empty pairs give
    0, not NaN. Widths and heights are not clamped at zero: callers pass valid boxes.
    """
    inter_w = jnp.minimum(boxes_a[..., 2], boxes_b[..., 2]) - jnp.maximum(boxes_a[..., 0],
                                                                         boxes_b[..., 0])
    inter_h = jnp.minimum(boxes_a[..., 3], boxes_b[..., 3]) - jnp.maximum(boxes_a[..., 1],
                                                                         boxes_b[..., 1])
    inter = jnp.maximum(inter_w, 0) * jnp.maximum(inter_h, 0)
    area_a = (boxes_a[..., 2] - boxes_a[..., 0]) * (boxes_a[..., 3] - boxes_a[..., 1])
    area_b = (boxes_b[..., 2] - boxes_b[..., 0]) * (boxes_b[..., 3] - boxes_b[..., 1])
    return inter / jnp.maximum(area_a + area_b - inter, eps)
