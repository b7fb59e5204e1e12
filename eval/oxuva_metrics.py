"""OxUvA true-positive rate, true-negative rate and MaxGM.

Annotations come at 1 Hz; the initialisation frame is not scored. At a scored frame where the
target is present, the prediction is a true positive when it says present and its IoU (boxes as
image fractions, clipped to [0, 1]) is >= 0.5, else a false negative; where the target is
absent, a prediction of present is a false positive, else a true negative. The counts are
summed over all tracks. MaxGM is the best geometric mean reachable by randomly reporting
absent with probability p: max over p in [0, 1] of sqrt((1-p) TPR * ((1-p) TNR + p)).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from eval.overlap import normalised_xyxy_iou

IOU_THRESHOLD = 0.5


@dataclasses.dataclass
class OxuvaCounts:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def __add__(self, other: "OxuvaCounts") -> "OxuvaCounts":
        return OxuvaCounts(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp,
                           self.tn + other.tn)


def count_track(gt_present, gt_boxes_xxyy, pred_present, pred_boxes_xxyy) -> OxuvaCounts:
    """Counts of one track over its scored (non-initial) annotated frames, aligned arrays."""
    gt_present = np.asarray(gt_present, bool).reshape(-1)
    pred_present = np.asarray(pred_present, bool).reshape(-1)
    ious = normalised_xyxy_iou(pred_boxes_xxyy, gt_boxes_xxyy)
    hit = pred_present & (ious >= IOU_THRESHOLD)
    return OxuvaCounts(
        tp=int(np.sum(gt_present & hit)),
        fn=int(np.sum(gt_present & ~hit)),
        fp=int(np.sum(~gt_present & pred_present)),
        tn=int(np.sum(~gt_present & ~pred_present)),
    )


def max_geometric_mean(tpr: float, tnr: float) -> float:
    """max_{p in [0,1]} sqrt(((1-p) tpr) ((1-p) tnr + p)), solved exactly: the product is a
    quadratic in p, so the maximum is at an end point or at its vertex."""
    def product(p: float) -> float:
        return (1 - p) * tpr * ((1 - p) * tnr + p)

    candidates = [0.0, 1.0]
    # (1-p) tpr ((1-p) tnr + p) = tpr [tnr + p (1 - 2 tnr) + p^2 (tnr - 1)]
    a, b = tnr - 1.0, 1.0 - 2.0 * tnr
    if a < 0:
        vertex = -b / (2 * a)
        if 0.0 <= vertex <= 1.0:
            candidates.append(vertex)
    return max(math.sqrt(max(product(p), 0.0)) for p in candidates)


def summarise(counts: OxuvaCounts) -> dict:
    if counts.tp + counts.fn == 0 or counts.tn + counts.fp == 0:
        raise ValueError(f"OxUvA needs both present and absent scored frames to define TPR and "
                         f"TNR; got {counts}")
    tpr = counts.tp / (counts.tp + counts.fn)
    tnr = counts.tn / (counts.tn + counts.fp)
    return {"tpr": tpr, "tnr": tnr, "max_gm": max_geometric_mean(tpr, tnr),
            "counts": dataclasses.asdict(counts)}
