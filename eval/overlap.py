"""Box overlap and centre-distance conventions of the official toolkits.

The toolkits disagree on what a box covers, and the disagreement shows up in the third
decimal of every score, so each convention is its own function and says whose it is.
All boxes are (N, 4) float64 arrays of x, y, w, h (top-left corner, width, height).
"""

from __future__ import annotations

import numpy as np


def as_boxes(boxes, what: str = "boxes") -> np.ndarray:
    """(N, 4) float64 copy; a clear error instead of a numpy broadcast failure."""
    array = np.array(boxes, dtype=np.float64, copy=True)
    if array.ndim == 1 and array.shape[0] == 4:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{what} must be an (N, 4) array of x, y, w, h; got shape {array.shape}")
    return array


def iou_inclusive_pixels(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """LaSOT/OTB MATLAB toolkit IoU: a box covers pixels x .. x+w-1 (inclusive), so the
    intersection width is min(right) - max(left) + 1; areas are w*h."""
    pred, gt = as_boxes(pred, "predictions"), as_boxes(gt, "ground truth")
    left = np.maximum(pred[:, 0], gt[:, 0])
    top = np.maximum(pred[:, 1], gt[:, 1])
    right = np.minimum(pred[:, 0] + pred[:, 2] - 1, gt[:, 0] + gt[:, 2] - 1)
    bottom = np.minimum(pred[:, 1] + pred[:, 3] - 1, gt[:, 1] + gt[:, 3] - 1)
    inter = np.maximum(0.0, right - left + 1) * np.maximum(0.0, bottom - top + 1)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def clip_to_image(boxes: np.ndarray, image_wh) -> np.ndarray:
    """got10k-toolkit bounding: x in [0, W], then w in [0, W - x] (same for y, h)."""
    boxes = as_boxes(boxes)
    width, height = float(image_wh[0]), float(image_wh[1])
    boxes[:, 0] = np.clip(boxes[:, 0], 0, width)
    boxes[:, 1] = np.clip(boxes[:, 1], 0, height)
    boxes[:, 2] = np.clip(boxes[:, 2], 0, width - boxes[:, 0])
    boxes[:, 3] = np.clip(boxes[:, 3], 0, height - boxes[:, 1])
    return boxes


def iou_continuous(pred: np.ndarray, gt: np.ndarray, image_wh=None) -> np.ndarray:
    """got10k-toolkit IoU: continuous boxes [x, x+w), union + machine eps in the
    denominator, result clipped to [0, 1]; optionally both boxes bounded to the image."""
    pred, gt = as_boxes(pred, "predictions"), as_boxes(gt, "ground truth")
    if image_wh is not None:
        pred, gt = clip_to_image(pred, image_wh), clip_to_image(gt, image_wh)
    inter_w = np.maximum(0.0, np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
                         - np.maximum(pred[:, 0], gt[:, 0]))
    inter_h = np.maximum(0.0, np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
                         - np.maximum(pred[:, 1], gt[:, 1]))
    inter = inter_w * inter_h
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def centres_minus_one(boxes: np.ndarray) -> np.ndarray:
    """Centre (x + (w-1)/2, y + (h-1)/2) of the LaSOT/OTB toolkits and got10k."""
    boxes = as_boxes(boxes)
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def centres_plus_one(boxes: np.ndarray) -> np.ndarray:
    """Centre (x + (w+1)/2, y + (h+1)/2) of the TrackingNet evaluation server."""
    boxes = as_boxes(boxes)
    return boxes[:, :2] + (boxes[:, 2:] + 1.0) / 2.0


def normalised_xyxy_iou(pred_xxyy: np.ndarray, gt_xxyy: np.ndarray) -> np.ndarray:
    """OxUvA IoU on boxes given as xmin, xmax, ymin, ymax fractions of the image, both
    clipped to [0, 1] first; an empty union gives 0."""
    pred = np.clip(np.asarray(pred_xxyy, dtype=np.float64).reshape(-1, 4), 0.0, 1.0)
    gt = np.clip(np.asarray(gt_xxyy, dtype=np.float64).reshape(-1, 4), 0.0, 1.0)

    def area(b):
        return np.maximum(0.0, b[:, 1] - b[:, 0]) * np.maximum(0.0, b[:, 3] - b[:, 2])

    inter_w = np.maximum(0.0, np.minimum(pred[:, 1], gt[:, 1]) - np.maximum(pred[:, 0], gt[:, 0]))
    inter_h = np.maximum(0.0, np.minimum(pred[:, 3], gt[:, 3]) - np.maximum(pred[:, 2], gt[:, 2]))
    inter = inter_w * inter_h
    union = area(pred) + area(gt) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
