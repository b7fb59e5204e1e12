"""GOT-10k average overlap (AO) and success rates (SR) as the got10k-toolkit scores `val`.

From frame 2 on, predicted and ground-truth boxes are bounded to the image (x in [0, W],
w in [0, W - x]), only frames whose `cover.label` is > 0 count, and the IoUs of all frames
of all sequences (and of all repetitions) are pooled: AO = mean IoU, SR_t = mean(IoU > t).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from eval import overlap


def sequence_ious(runs: Sequence[np.ndarray], gt: np.ndarray, cover: np.ndarray, image_wh,
                  name: str = "?") -> np.ndarray:
    """Pooled IoUs of one sequence over its repetitions, frames 2.. with cover > 0.

    A prediction with a NaN (which the toolkit would turn into a NaN AO) scores IoU 0.
    """
    gt = overlap.as_boxes(gt, "ground truth")
    cover = np.asarray(cover, dtype=np.float64).reshape(-1)
    if len(cover) != len(gt):
        raise ValueError(f"sequence {name}: {len(cover)} cover labels for {len(gt)} frames")
    pooled = []
    for run in runs:
        boxes = overlap.as_boxes(run, "predictions")
        if boxes.shape != gt.shape:
            raise ValueError(f"sequence {name}: the result has {len(boxes)} boxes but the "
                             f"ground truth has {len(gt)} frames")
        ious = overlap.iou_continuous(boxes[1:], gt[1:], image_wh)
        ious = np.where(np.isnan(ious), 0.0, ious)
        pooled.append(ious[cover[1:] > 0])
    return np.concatenate(pooled) if pooled else np.zeros(0)


def summarise(ious_per_sequence: Sequence[np.ndarray]) -> dict:
    """AO, SR0.5, SR0.75 over the pooled IoUs, plus the success curve on linspace(0,1,101)."""
    ious = np.concatenate([np.asarray(i, np.float64) for i in ious_per_sequence])
    if ious.size == 0:
        raise ValueError("no scored frames (every frame after the first has cover 0)")
    thresholds = np.linspace(0, 1, 101)
    return {
        "ao": float(np.mean(ious)),
        "sr50": float(np.mean(ious > 0.5)),
        "sr75": float(np.mean(ious > 0.75)),
        "success_curve": (ious[:, None] > thresholds[None]).mean(0),
        "thresholds": thresholds,
    }
