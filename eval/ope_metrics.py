"""One-pass evaluation (OPE): success, precision and normalised precision curves.

Three conventions, each reproducing one official scorer:

* `lasot` (default for LaSOT, OTB, TLP): the LaSOT MATLAB toolkit. IoU on inclusive pixels,
  success when IoU > t for t in 0:0.05:1, precision when the centre error <= t for t in 0:1:50
  (reported at 20 px), normalised precision over 0:0.01:0.5 (reported at 0.20); frame 1's
  prediction is replaced by the ground truth and scored; an invalid prediction (NaN, w <= 0,
  h <= 0) after frame 1 is replaced by the previous one; a present frame whose ground truth has
  any value <= 0 scores overlap -1 (failure) and centre error -1 (success); absent frames
  (LaSOT full-occlusion / out-of-view flags) stay in the denominator as failures; every
  sequence weighs the same; the success score is the mean of the curve.
* `got10k` (the got10k-toolkit's OTB/LaSOT experiments): continuous IoU with eps, clipped to
  [0, 1]; frame 1 set to the ground truth; frames whose ground truth has a NaN are dropped;
  no replacement of invalid predictions; centres divided by max(1, gt size) when normalised,
  thresholds linspace(0, 0.5, 51).
* `trackingnet` (the TrackingNet evaluation server): every coordinate rounded, inclusive
  pixels, centre x + (w+1)/2, 21 thresholds each, success when IoU >= t, and each score the
  trapezoid area of its curve over a unit-width axis.

Thresholds are built the way the scorer builds them (MATLAB's colon operator for the LaSOT
toolkit), because IoUs and errors that equal a threshold exactly are common with integer boxes.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from eval import overlap

CONVENTIONS = ("lasot", "got10k", "trackingnet")


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """The values of MATLAB's `start:step:stop`, bit for bit: the first half counts up from
    `start`, the second half down from `stop`, and an exact middle is (start+stop)/2."""
    count = int(np.floor((stop - start) / step + 1e-10))
    values = np.empty(count + 1, dtype=np.float64)
    half = count // 2
    k = np.arange(half + 1, dtype=np.float64)
    values[: half + 1] = start + k * step
    values[count - np.arange(half + 1)] = stop - k * step
    if count % 2 == 0:
        values[half] = (start + stop) / 2.0
    return values


@dataclasses.dataclass(frozen=True)
class OpeThresholds:
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    precision_index: int  # index reported as "precision" (20 px)
    norm_precision_index: int  # index reported as "normalised precision" (0.20)


def thresholds_for(convention: str) -> OpeThresholds:
    if convention == "lasot":
        return OpeThresholds(matlab_colon(0, 0.05, 1), matlab_colon(0, 1, 50),
                             matlab_colon(0, 0.01, 0.5), 20, 20)
    if convention == "got10k":
        return OpeThresholds(np.linspace(0, 1, 21), np.arange(0, 51, dtype=np.float64),
                             np.linspace(0, 0.5, 51), 20, 20)
    if convention == "trackingnet":
        return OpeThresholds(np.linspace(0, 1, 21), np.linspace(0, 50, 21),
                             np.linspace(0, 0.5, 21), 8, 8)
    raise ValueError(f"unknown OPE convention {convention!r}; expected one of {CONVENTIONS}")


@dataclasses.dataclass
class SequenceErrors:
    """Per-frame overlap, centre error and normalised centre error of one sequence, already
    carrying the scorer's sentinels (-1, +inf); the denominator is len(overlap)."""
    overlap: np.ndarray
    centre_error: np.ndarray
    norm_centre_error: np.ndarray


def _check_lengths(pred: np.ndarray, gt: np.ndarray, name: str) -> np.ndarray:
    if len(pred) < len(gt):
        raise ValueError(f"sequence {name}: the result has {len(pred)} boxes but the ground "
                         f"truth has {len(gt)} frames")
    return pred[: len(gt)]


def lasot_errors(pred, gt, present=None, name: str = "?") -> SequenceErrors:
    """Per-frame errors with the LaSOT MATLAB toolkit's conventions (see module doc)."""
    gt = overlap.as_boxes(gt, "ground truth")
    pred = _check_lengths(overlap.as_boxes(pred, "predictions"), gt, name)
    n = len(gt)
    present = np.ones(n, bool) if present is None else np.asarray(present, bool).reshape(-1)
    if len(present) != n:
        raise ValueError(f"sequence {name}: {len(present)} absence flags for {n} frames")
    # Invalid predictions after frame 1 take the previous (possibly replaced) prediction;
    # the source for frame 2 is the raw frame-1 prediction, as in the toolkit.
    valid = ~(np.isnan(pred).any(axis=1) | (pred[:, 2] <= 0) | (pred[:, 3] <= 0))
    valid[0] = True
    source = np.maximum.accumulate(np.where(valid, np.arange(n), 0))
    rects = pred[source]
    rects[0] = gt[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = overlap.centres_minus_one(rects) - overlap.centres_minus_one(gt)
        centre_error = np.sqrt((diff ** 2).sum(axis=1))
        norm_centre_error = np.sqrt(((diff / gt[:, 2:]) ** 2).sum(axis=1))
        gt_valid = (gt > 0).all(axis=1)
    iou = np.full(n, -1.0)
    iou[gt_valid] = overlap.iou_inclusive_pixels(rects[gt_valid], gt[gt_valid])
    centre_error[~gt_valid] = -1.0
    norm_centre_error[~gt_valid] = -1.0
    iou[~present] = -1.0
    centre_error[~present] = np.inf
    norm_centre_error[~present] = np.inf
    return SequenceErrors(iou, centre_error, norm_centre_error)


def got10k_errors(pred, gt, present=None, name: str = "?") -> SequenceErrors:
    """Per-frame errors as the got10k-toolkit computes them (absence flags are not used)."""
    gt = overlap.as_boxes(gt, "ground truth")
    pred = _check_lengths(overlap.as_boxes(pred, "predictions"), gt, name)
    pred[0] = gt[0]
    keep = ~np.isnan(gt).any(axis=1)
    pred, gt = pred[keep], gt[keep]
    iou = overlap.iou_continuous(pred, gt)
    diff = overlap.centres_minus_one(pred) - overlap.centres_minus_one(gt)
    centre_error = np.sqrt((diff ** 2).sum(axis=1))
    norm_centre_error = np.sqrt(((diff / np.maximum(1.0, gt[:, 2:])) ** 2).sum(axis=1))
    return SequenceErrors(iou, centre_error, norm_centre_error)


def trackingnet_errors(pred, gt, present=None, name: str = "?") -> SequenceErrors:
    """Per-frame errors as the TrackingNet server computes them (rounded boxes)."""
    gt = np.round(overlap.as_boxes(gt, "ground truth"))
    pred = np.round(_check_lengths(overlap.as_boxes(pred, "predictions"), gt, name))
    pred[0] = gt[0]
    left = np.maximum(pred[:, 0], gt[:, 0])
    top = np.maximum(pred[:, 1], gt[:, 1])
    right = np.minimum(pred[:, 0] + pred[:, 2] - 1, gt[:, 0] + gt[:, 2] - 1)
    bottom = np.minimum(pred[:, 1] + pred[:, 3] - 1, gt[:, 1] + gt[:, 3] - 1)
    inter = (np.maximum(0.0, np.round(right - left + 1))
             * np.maximum(0.0, np.round(bottom - top + 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter)
        diff = overlap.centres_plus_one(pred) - overlap.centres_plus_one(gt)
        centre_error = np.sqrt((diff ** 2).sum(axis=1))
        norm_centre_error = np.sqrt(((diff / gt[:, 2:]) ** 2).sum(axis=1))
    return SequenceErrors(iou, centre_error, norm_centre_error)


ERROR_FUNCTIONS = {"lasot": lasot_errors, "got10k": got10k_errors,
                   "trackingnet": trackingnet_errors}


@dataclasses.dataclass
class OpeResult:
    """Curves averaged over sequences (every sequence weighs the same) and the scores."""
    thresholds: OpeThresholds
    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    success: float
    precision: float
    norm_precision: float
    per_sequence: dict

    def scores(self) -> dict:
        return {"success": self.success, "precision": self.precision,
                "norm_precision": self.norm_precision}


def sequence_curves(errors: SequenceErrors, thresholds: OpeThresholds, convention: str):
    """Fractions of frames passing each threshold (strict for IoU except on TrackingNet)."""
    n = max(len(errors.overlap), 1)
    with np.errstate(invalid="ignore"):
        if convention == "trackingnet":
            success = (errors.overlap[:, None] >= thresholds.success[None]).sum(0) / n
        else:
            success = (errors.overlap[:, None] > thresholds.success[None]).sum(0) / n
        precision = (errors.centre_error[:, None] <= thresholds.precision[None]).sum(0) / n
        norm = (errors.norm_centre_error[:, None] <= thresholds.norm_precision[None]).sum(0) / n
    return success, precision, norm


def evaluate_ope(predictions: Sequence[np.ndarray], ground_truths: Sequence[np.ndarray],
                 presents: Sequence[np.ndarray | None] | None = None,
                 names: Sequence[str] | None = None, convention: str = "lasot") -> OpeResult:
    """Scores a set of sequences; all inputs are per-sequence lists in the same order."""
    if convention not in ERROR_FUNCTIONS:
        raise ValueError(f"unknown OPE convention {convention!r}; expected one of {CONVENTIONS}")
    if not ground_truths:
        raise ValueError("no sequences to evaluate")
    thresholds = thresholds_for(convention)
    presents = presents if presents is not None else [None] * len(ground_truths)
    names = names if names is not None else [str(i) for i in range(len(ground_truths))]
    curves, per_sequence = [], {}
    for pred, gt, present, name in zip(predictions, ground_truths, presents, names):
        errors = ERROR_FUNCTIONS[convention](pred, gt, present, name)
        succ, prec, norm = sequence_curves(errors, thresholds, convention)
        curves.append((succ, prec, norm))
        per_sequence[name] = _scores(succ, prec, norm, thresholds, convention)
    success_curve, precision_curve, norm_curve = (np.mean([c[i] for c in curves], axis=0)
                                                  for i in range(3))
    scores = _scores(success_curve, precision_curve, norm_curve, thresholds, convention)
    return OpeResult(thresholds, success_curve, precision_curve, norm_curve,
                     scores["success"], scores["precision"], scores["norm_precision"],
                     per_sequence)


def _trapezoid(curve: np.ndarray) -> float:
    """TrackingNet integrates every curve against linspace(0, 1, len(curve))."""
    x = np.linspace(0, 1, len(curve))
    return float(np.sum((curve[1:] + curve[:-1]) * np.diff(x) / 2.0))


def _scores(success, precision, norm, thresholds: OpeThresholds, convention: str) -> dict:
    if convention == "trackingnet":
        return {"success": _trapezoid(success), "precision": _trapezoid(precision),
                "norm_precision": _trapezoid(norm)}
    return {"success": float(np.mean(success)),
            "precision": float(precision[thresholds.precision_index]),
            "norm_precision": float(norm[thresholds.norm_precision_index])}
