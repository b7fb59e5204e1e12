"""VOT long-term precision, recall and F-score as the VOT Python toolkit computes them.

Thresholds: all confidences of all sequences (NaN dropped), sorted descending; when there are
more than 98, 98 of them at indices round(linspace(d, n - d, 98)) with d = floor(n / 98),
otherwise all of them; then +inf first and -inf last. Per sequence and threshold t:
Pr(t) = mean overlap of the frames with confidence >= t (1 when there are none),
Re(t) = sum of those overlaps / number of frames with the target present (a NaN ground
truth row is absent; the overlap there is 0). Pr and Re are averaged over sequences per t and
F = max_t 2 Pr Re / (Pr + Re), with Pr and Re reported at that t.

Frame 1 is the initialisation: it has no confidence (the toolkit's file has an empty line) and
is never in a subset, but it counts as a present frame in Re's denominator.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from eval import overlap

RESOLUTION = 100


def determine_thresholds(confidences: Sequence[np.ndarray], resolution: int = RESOLUTION):
    scores = np.concatenate([np.asarray(c, np.float64).reshape(-1) for c in confidences])
    scores = np.sort(scores[~np.isnan(scores)])[::-1]
    picked = resolution - 2
    if len(scores) > picked:
        delta = int(np.floor(len(scores) / picked))
        indices = np.round(np.linspace(delta, len(scores) - delta, picked)).astype(int)
        scores = scores[indices]
    return np.concatenate([[np.inf], scores, [-np.inf]])


def sequence_overlaps(pred: np.ndarray, gt: np.ndarray, image_wh=None,
                      name: str = "?") -> np.ndarray:
    """Overlap per frame: 0 where the target is absent or the prediction is invalid."""
    gt = overlap.as_boxes(gt, "ground truth")
    pred = overlap.as_boxes(pred, "predictions")
    if len(pred) != len(gt):
        raise ValueError(f"sequence {name}: the result has {len(pred)} rows but the ground truth "
                         f"has {len(gt)} frames")
    present = ~np.isnan(gt).any(axis=1)
    usable = present & ~np.isnan(pred).any(axis=1)
    ious = np.zeros(len(gt))
    if usable.any():
        ious[usable] = overlap.iou_continuous(pred[usable], gt[usable], image_wh)
    return ious


def precision_recall(overlaps: np.ndarray, confidence: np.ndarray, n_present: int,
                     thresholds: np.ndarray):
    """Pr(t) and Re(t) of one sequence; frames with a NaN confidence are never selected."""
    overlaps = np.asarray(overlaps, np.float64)
    confidence = np.asarray(confidence, np.float64)
    precision = np.ones(len(thresholds))
    recall = np.zeros(len(thresholds))
    for i, t in enumerate(thresholds):
        with np.errstate(invalid="ignore"):
            subset = confidence >= t
        if subset.any():
            precision[i] = overlaps[subset].mean()
            recall[i] = overlaps[subset].sum() / n_present if n_present else 0.0
    return precision, recall


def evaluate_longterm(predictions, confidences, ground_truths, image_sizes=None,
                      names=None) -> dict:
    """Pr, Re, F of a tracker on a set of sequences (lists aligned by sequence)."""
    n = len(ground_truths)
    if n == 0:
        raise ValueError("no sequences to evaluate")
    image_sizes = image_sizes if image_sizes is not None else [None] * n
    names = names if names is not None else [str(i) for i in range(n)]
    confidences = [np.asarray(c, np.float64).reshape(-1).copy() for c in confidences]
    for c in confidences:
        c[0] = np.nan  # the initialisation frame carries no confidence
    thresholds = determine_thresholds(confidences)
    precisions, recalls = [], []
    for pred, conf, gt, size, name in zip(predictions, confidences, ground_truths,
                                          image_sizes, names):
        gt = overlap.as_boxes(gt, "ground truth")
        if len(conf) != len(gt):
            raise ValueError(f"sequence {name}: {len(conf)} confidences for {len(gt)} frames")
        overlaps = sequence_overlaps(pred, gt, size, name)
        n_present = int((~np.isnan(gt).any(axis=1)).sum())
        pr, re = precision_recall(overlaps, conf, n_present, thresholds)
        precisions.append(pr)
        recalls.append(re)
    precision = np.mean(precisions, axis=0)
    recall = np.mean(recalls, axis=0)
    denominator = precision + recall
    f_curve = np.where(denominator > 0,
                       2 * precision * recall / np.where(denominator > 0, denominator, 1), 0.0)
    best = int(np.argmax(f_curve))
    return {"precision": float(precision[best]), "recall": float(recall[best]),
            "f_score": float(f_curve[best]), "threshold": float(thresholds[best]),
            "precision_curve": precision, "recall_curve": recall, "thresholds": thresholds}
