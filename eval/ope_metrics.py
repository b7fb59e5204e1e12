"""One-pass evaluation (OPE): success, precision and normalised precision curves.

Three conventions, each reproducing one official scorer in its own operation order, float64:

* `lasot` (default for LaSOT, OTB, TLP): the LaSOT MATLAB toolkit
  (github.com/HengLan/LaSOT_Evaluation_Toolkit, utils/calc_seq_err_robust.m, calc_rect_int.m,
  eval_tracker.m, plot_draw_save.m), whose per-frame rules are those of the OTB toolkit's
  calcSeqErrRobust.m (absence flags aside). IoU on inclusive pixels; success when IoU > t for
  t in 0:0.05:1; precision when the centre error <= t for t in 0:50 (reported at 20 px);
  normalised precision: each centre divided by the ground-truth width/height FIRST, then
  subtracted, thresholds (0:50)/100 (reported at 0.20); frame 1's prediction is replaced by the
  ground truth and scored; an invalid prediction (NaN, w <= 0, h <= 0) after frame 1 whose
  ground-truth row holds no NaN is replaced by the previous one; a present frame whose ground
  truth has any value <= 0 scores overlap -1 (failure) and centre error -1 (success); absent
  frames (LaSOT full-occlusion / out-of-view flags) are removed but stay in the denominator
  (frames + eps) as failures; a sequence whose curve sums to <= eps is left out of that
  curve's mean over sequences; the success score is the mean of the curve.
* `got10k` (the got10k-toolkit's OTB/LaSOT experiments, github.com/got-10k/toolkit,
  got10k/experiments/otb.py, lasot.py, got10k/utils/metrics.py): continuous IoU with eps,
  clipped to [0, 1]; frame 1 set to the ground truth; frames whose ground truth has a NaN are
  dropped; no replacement of invalid predictions; the centre difference divided by
  max(1, gt size) when normalised, thresholds linspace(0, 0.5, 51), and the normalised
  precision score the MEAN of that curve (ExperimentLaSOT.report).
* `trackingnet` (the TrackingNet evaluation server): every coordinate rounded, inclusive
  pixels, centre x + (w+1)/2, 21 thresholds each, success when IoU >= t, and each score the
  trapezoid area of its curve over a unit-width axis.

Thresholds are built the way the scorer builds them (MATLAB's colon operator and `(0:50)/100`
for the LaSOT toolkit), because IoUs and errors that equal a threshold exactly are common with
integer boxes.
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
    """The threshold sets of each scorer. LaSOT toolkit (utils/eval_tracker.m):
    `threshold_set_overlap = 0:0.05:1`, `threshold_set_error = 0:50`, and with `norm_dst`
    `threshold_set_error / 100`; the reported entries are index 21 (MATLAB, 1-based)."""
    if convention == "lasot":
        return OpeThresholds(matlab_colon(0, 0.05, 1), matlab_colon(0, 1, 50),
                             matlab_colon(0, 1, 50) / 100.0, 20, 20)
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
    """Per-frame errors as the LaSOT MATLAB toolkit computes them
    (HengLan/LaSOT_Evaluation_Toolkit, utils/calc_seq_err_robust.m), in its operation order:

    1. an invalid prediction of frame i >= 2 (any NaN, w <= 0 or h <= 0) is replaced by the
       (already replaced) prediction of frame i-1, unless the ground truth of frame i holds a
       NaN;
    2. frame 1's prediction becomes the ground truth;
    3. centres x + (w-1)/2, y + (h-1)/2; for the normalised error each centre (prediction and
       ground truth) is divided by the ground-truth w / h BEFORE the difference is taken;
       error = sqrt(dx^2 + dy^2);
    4. rows whose ground truth is not all > 0 get overlap -1 and error -1; the others the
       inclusive-pixel IoU (utils/calc_rect_int.m).

    Absent frames (`present` False), which the toolkit deletes before step 3 while keeping
    them in the denominator, get overlap -1 and error +inf here: they fail every threshold.
    """
    gt = overlap.as_boxes(gt, "ground truth")
    pred = _check_lengths(overlap.as_boxes(pred, "predictions"), gt, name)
    n = len(gt)
    present = np.ones(n, bool) if present is None else np.asarray(present, bool).reshape(-1)
    if len(present) != n:
        raise ValueError(f"sequence {name}: {len(present)} absence flags for {n} frames")
    # 1. Each frame either keeps its own row or copies the (replaced) previous one, so the
    #    row it ends with is that of the last frame at or before it that kept its own.
    invalid = np.isnan(pred).any(axis=1) | (pred[:, 2] <= 0) | (pred[:, 3] <= 0)
    keeps_own = ~(invalid & ~np.isnan(gt).any(axis=1))
    keeps_own[0] = True
    source = np.maximum.accumulate(np.where(keeps_own, np.arange(n), 0))
    rects = pred[source]
    rects[0] = gt[0]  # 2.
    with np.errstate(invalid="ignore", divide="ignore"):
        # 3.
        centre_gt = overlap.centres_minus_one(gt)
        centre = overlap.centres_minus_one(rects)
        centre_error = np.sqrt(((centre - centre_gt) ** 2).sum(axis=1))
        norm_centre_error = np.sqrt(((centre / gt[:, 2:] - centre_gt / gt[:, 2:]) ** 2)
                                    .sum(axis=1))
        gt_valid = (gt > 0).sum(axis=1) == 4
    # 4.
    iou = np.full(n, -1.0)
    iou[gt_valid] = overlap.iou_inclusive_pixels(rects[gt_valid], gt[gt_valid])
    centre_error[~gt_valid] = -1.0
    norm_centre_error[~gt_valid] = -1.0
    iou[~present] = -1.0
    centre_error[~present] = np.inf
    norm_centre_error[~present] = np.inf
    return SequenceErrors(iou, centre_error, norm_centre_error)


def got10k_errors(pred, gt, present=None, name: str = "?") -> SequenceErrors:
    """Per-frame errors as the got10k-toolkit computes them (got-10k/toolkit,
    got10k/experiments/lasot.py `_calc_metrics`, got10k/utils/metrics.py `rect_iou`,
    `center_error`, `normalized_center_error`): frame 1 := ground truth, frames whose ground
    truth holds a NaN dropped, the centre difference divided by max(1, gt w/h) when
    normalised. Absence flags are not used."""
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
    """Fractions of frames passing each threshold (strict for IoU except on TrackingNet).

    LaSOT toolkit (utils/eval_tracker.m): `sum(err_coverage > t) / (len_all + eps)` and
    `sum(err_center <= t) / (len_all + eps)`, len_all the number of annotated frames."""
    n = len(errors.overlap)
    denominator = n + np.finfo(np.float64).eps if convention == "lasot" else max(n, 1)
    with np.errstate(invalid="ignore"):
        if convention == "trackingnet":
            success = (errors.overlap[:, None] >= thresholds.success[None]).sum(0)
        else:
            success = (errors.overlap[:, None] > thresholds.success[None]).sum(0)
        precision = (errors.centre_error[:, None] <= thresholds.precision[None]).sum(0)
        norm = (errors.norm_centre_error[:, None] <= thresholds.norm_precision[None]).sum(0)
    return success / denominator, precision / denominator, norm / denominator


def _mean_over_sequences(curves: np.ndarray, convention: str) -> np.ndarray:
    """LaSOT toolkit (utils/plot_draw_save.m): `aa = aa(sum(aa,2) > eps, :); bb = mean(aa)`,
    i.e. a sequence whose curve sums to <= eps is left out of the mean."""
    curves = np.asarray(curves, np.float64)
    if convention == "lasot":
        kept = curves[curves.sum(axis=1) > np.finfo(np.float64).eps]
        if len(kept):
            return kept.mean(axis=0)
        return np.zeros(curves.shape[1]) if len(curves) else curves.mean(axis=0)
    return curves.mean(axis=0)


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
    success_curve, precision_curve, norm_curve = (
        _mean_over_sequences([c[i] for c in curves], convention) for i in range(3))
    scores = _scores(success_curve, precision_curve, norm_curve, thresholds, convention)
    return OpeResult(thresholds, success_curve, precision_curve, norm_curve,
                     scores["success"], scores["precision"], scores["norm_precision"],
                     per_sequence)


def _trapezoid(curve: np.ndarray) -> float:
    """TrackingNet integrates every curve against linspace(0, 1, len(curve))."""
    x = np.linspace(0, 1, len(curve))
    return float(np.sum((curve[1:] + curve[:-1]) * np.diff(x) / 2.0))


def _scores(success, precision, norm, thresholds: OpeThresholds, convention: str) -> dict:
    """LaSOT toolkit (utils/plot_draw_save.m): success `mean(bb)` (AUC ranking), precision and
    normalised precision `bb(21)`; got10k-toolkit (experiments/lasot.py `report`): success and
    normalised precision the curve means, precision `prec_curve[20]`."""
    if convention == "trackingnet":
        return {"success": _trapezoid(success), "precision": _trapezoid(precision),
                "norm_precision": _trapezoid(norm)}
    if convention == "got10k":
        return {"success": float(np.mean(success)),
                "precision": float(precision[thresholds.precision_index]),
                "norm_precision": float(np.mean(norm))}
    return {"success": float(np.mean(success)),
            "precision": float(precision[thresholds.precision_index]),
            "norm_precision": float(norm[thresholds.norm_precision_index])}
