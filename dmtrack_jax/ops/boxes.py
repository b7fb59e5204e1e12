"""Checks of the template boxes the network is given.

Inside the network boxes are continuous x1, y1, x2, y2 in input-canvas pixels; conversions
and IoU live in `dmtrack_common.boxes`.
"""

from __future__ import annotations

import jax
import numpy as np


def _is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def check_template_boxes(boxes, image_hw, box_valid=None) -> None:
    """Raises ValueError naming the first bad template box (x1, y1, x2, y2).

    A box is bad if it has a NaN/inf, zero or negative width or height, or lies entirely
    outside the (H, W) image. Traced values (inside jit) cannot be inspected and are skipped:
    jitted callers check their inputs before entering the graph.
    """
    if _is_traced(boxes) or (box_valid is not None and _is_traced(box_valid)):
        return
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] != 4:
        raise ValueError(f"template boxes must have shape (..., 4), got {arr.shape}")
    valid = (np.ones(arr.shape[:-1], bool) if box_valid is None
             else np.broadcast_to(np.asarray(box_valid, bool), arr.shape[:-1]))
    height, width = image_hw
    for index in zip(*np.nonzero(valid)):
        x1, y1, x2, y2 = arr[index]
        where = f"template box {list(arr[index])} at index {tuple(int(i) for i in index)}"
        if not np.all(np.isfinite(arr[index])):
            raise ValueError(f"{where} has a NaN or infinite coordinate")
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            raise ValueError(f"{where} has zero or negative size "
                             f"(w={x2 - x1:g}, h={y2 - y1:g})")
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            raise ValueError(f"{where} lies entirely outside the {width}x{height} image")
