"""A held-out synthetic long-term benchmark, scored in memory like LaSOT and OxUvA.

The videos, their names and the scoring live here; tracking them with a DMTrack tracker is
`dmtrack_apps.synthetic_eval` (eval never builds or drives a tracker's internals). Used by the
training loop's periodic evaluation, by `dmtrack demo` and by the ablation script.
Videos come from `data_pipelines.synthetic` (look-alike distractors, occlusions, out-of-view
periods); the seeds used here (VALIDATION_SEED and up) are not those of the training data
(`data.sources.synthetic.seed`, 0 by default).

Scores: OPE success / precision / normalised precision with the LaSOT toolkit's conventions
(frames where the target is absent stay in the denominator as failures), and OxUvA TPR / TNR /
MaxGM from the tracker's confidences (present when confidence >= the tracker's absence
threshold), every frame after the first scored.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from data_pipelines.synthetic import SyntheticVideo, iter_dataset
from eval import oxuva_metrics
from eval.ope_metrics import evaluate_ope

VALIDATION_SEED = 10_000


@dataclasses.dataclass
class TrackedVideo:
    name: str
    boxes: np.ndarray  # (F, 4) x, y, w, h; row 0 is the given first-frame box
    confidences: np.ndarray  # (F,); 1 on frame 1


def make_videos(count: int, frames: int, image_size: Sequence[int], seed: int = VALIDATION_SEED,
                distractors: int = 3, preset: str = "default") -> list[SyntheticVideo]:
    return list(iter_dataset(count, frames, seed, tuple(image_size), distractors, preset))


def video_names(videos: Sequence[SyntheticVideo]) -> list[str]:
    """LaSOT-style names `<class>-<k>`, numbered per class as the LaSOT writer numbers them."""
    counts: dict[str, int] = {}
    names = []
    for video in videos:
        counts[video.object_class] = counts.get(video.object_class, 0) + 1
        names.append(f"{video.object_class}-{counts[video.object_class]}")
    return names


def _xxyy(boxes_xywh: np.ndarray, image_hw) -> np.ndarray:
    h, w = image_hw
    x, y, bw, bh = np.asarray(boxes_xywh, np.float64).T
    return np.stack([x / w, (x + bw) / w, y / h, (y + bh) / h], axis=1)


def score(videos: Sequence[SyntheticVideo], tracked: Sequence[TrackedVideo],
          absent_confidence: float) -> dict:
    """{"success", "precision", "norm_precision", "tpr", "tnr", "max_gm"} as fractions."""
    if len(videos) != len(tracked):
        raise ValueError(f"{len(videos)} videos but {len(tracked)} tracking results")
    gts = [np.where(np.isfinite(v.boxes[:, 0]), v.boxes[:, 0], 0.0) for v in videos]
    presents = [~v.target_absent for v in videos]
    ope = evaluate_ope([t.boxes for t in tracked], gts, presents, [t.name for t in tracked])
    counts = oxuva_metrics.OxuvaCounts(0, 0, 0, 0)
    for video, present, result in zip(videos, presents, tracked):
        # OxUvA scores every frame after the first.
        image_hw = video.frames.shape[1:3]
        c = oxuva_metrics.count_track(
            present[1:], _xxyy(video.full_boxes[1:, 0], image_hw),
            result.confidences[1:] >= absent_confidence, _xxyy(result.boxes[1:], image_hw))
        counts = oxuva_metrics.OxuvaCounts(counts.tp + c.tp, counts.fn + c.fn,
                                           counts.fp + c.fp, counts.tn + c.tn)
    scores = {"success": float(ope.success), "precision": float(ope.precision),
              "norm_precision": float(ope.norm_precision)}
    try:
        oxuva = oxuva_metrics.summarise(counts)
        scores.update(tpr=oxuva["tpr"], tnr=oxuva["tnr"], max_gm=oxuva["max_gm"])
    except ValueError:  # no absent frame in these videos: TNR undefined
        scores.update(tpr=counts.tp / max(counts.tp + counts.fn, 1), tnr=float("nan"),
                      max_gm=float("nan"))
    scores["ope"] = ope
    return scores
