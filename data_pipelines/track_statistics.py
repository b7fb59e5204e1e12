"""The motion, absence and scale statistics of single-object tracking annotations (issue 20).

One function, `track_statistics`, applied the same way to real annotations (LaSOT's
`groundtruth.txt` + `full_occlusion.txt` + `out_of_view.txt`) and to synthetic videos (the
target's planned boxes and absence flags, `synthetic.target_annotations`), so that a synthetic
preset can be compared with a real benchmark row by row.

Input per sequence: boxes (F, 4) x, y, w, h and a boolean absent flag (F,) (the target fully
occluded or out of view). A frame is *absent* when it is flagged or its box is not finite with
w > 0 and h > 0 (LaSOT writes 0,0,0,0 rows for some unflagged frames), *present* otherwise.
Statistics pooled over all sequences (every percentile is numpy's linear-interpolation
percentile of the pooled values):

* ``motion`` (p50/p90/p99/p99.9): for every pair of consecutive frames t-1, t that are both
  present, |c_t - c_{t-1}| / sqrt(w_{t-1} h_{t-1}), c the box centre (x + w/2, y + h/2):
  centre motion per frame in units of the previous box's size.
* ``jumps_per_1000``: 1000 x (number of such pairs with motion > 1) / (number of such pairs).
* ``absent_fraction``: absent frames / total frames.
* ``sequences_with_absence``: sequences with at least one absent frame.
* ``absence_periods_per_1000``: 1000 x (number of maximal runs of absent frames) / total frames.
* ``absence_length`` (p50/p90/p99): the lengths in frames of those runs (a run cut by the end
  of a sequence counts with the frames it has).
* ``scale_ratio`` (p1/p99): for every pair of consecutive present frames,
  sqrt(w_t h_t / (w_{t-1} h_{t-1})): the frame-to-frame change of the box's size.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["LASOT_TEST", "absence_runs", "track_statistics"]

# The LaSOT column of issue 20's table (280 test sequences, 685,360 frames), as published there.
LASOT_TEST = {
    "motion_p50": 0.023, "motion_p90": 0.147, "motion_p99": 0.77, "motion_p999": 1.69,
    "jumps_per_1000": 5.7, "absent_fraction": 0.026, "absence_periods_per_1000": 1.3,
    "absence_length_p50": 6, "absence_length_p90": 46, "absence_length_p99": 214,
    "scale_ratio_p1": 0.88, "scale_ratio_p99": 1.13,
}


def absence_runs(absent: np.ndarray) -> np.ndarray:
    """Lengths of the maximal runs of True in a 1-D boolean array, in order."""
    absent = np.asarray(absent, dtype=bool)
    padded = np.concatenate([[False], absent, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return ends - starts


def track_statistics(sequences: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Pooled statistics (see the module docstring) of (boxes (F, 4) xywh, absent (F,)) pairs."""
    motions, ratios, runs = [], [], []
    frames = absent_frames = with_absence = 0
    for boxes, absent in sequences:
        boxes = np.asarray(boxes, dtype=np.float64)
        absent = np.asarray(absent, dtype=bool)
        if boxes.shape != (len(absent), 4):
            raise ValueError(f"boxes {boxes.shape} do not match absent {absent.shape}")
        positive = np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        present = ~absent & positive
        absent = ~present
        pair = present[1:] & present[:-1]
        prev, cur = boxes[:-1][pair], boxes[1:][pair]
        size = np.sqrt(prev[:, 2] * prev[:, 3])
        centre_prev = prev[:, :2] + prev[:, 2:] / 2
        centre_cur = cur[:, :2] + cur[:, 2:] / 2
        motions.append(np.linalg.norm(centre_cur - centre_prev, axis=1) / size)
        ratios.append(np.sqrt(cur[:, 2] * cur[:, 3]) / size)
        runs.append(absence_runs(absent))
        frames += len(absent)
        absent_frames += int(absent.sum())
        with_absence += bool(absent.any())
    if frames == 0:
        raise ValueError("no frames")
    motion, ratio, run = (np.concatenate(v) for v in (motions, ratios, runs))
    run_p = np.percentile(run, [50, 90, 99]) if run.size else np.full(3, np.nan)
    m = np.percentile(motion, [50, 90, 99, 99.9])
    r = np.percentile(ratio, [1, 99])
    return {
        "frames": frames, "sequences": len(runs), "sequences_with_absence": with_absence,
        "motion_p50": m[0], "motion_p90": m[1], "motion_p99": m[2], "motion_p999": m[3],
        "jumps_per_1000": 1000.0 * int((motion > 1).sum()) / max(motion.size, 1),
        "absent_fraction": absent_frames / frames,
        "absence_periods_per_1000": 1000.0 * run.size / frames,
        "absence_length_p50": run_p[0], "absence_length_p90": run_p[1],
        "absence_length_p99": run_p[2],
        "scale_ratio_p1": r[0], "scale_ratio_p99": r[1],
    }
