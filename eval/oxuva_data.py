"""OxUvA scoring of a results folder: prediction CSVs aligned to the 1 Hz annotations.

The tasks and annotations are dataset knowledge and are read by `data_pipelines.datasets.oxuva`
(`read_dataset("oxuva", ...)` gives one `Sequence` per task; `read_annotations` the labels);
this module keeps what the OxUvA toolkit does with result files.
"""

from __future__ import annotations

import numpy as np

from data_pipelines.sequence import Sequence
from eval import oxuva_metrics
from eval.result_files import oxuva_result_path, read_oxuva_predictions


def align_predictions(predictions: dict, frames: list[int]):
    """Prediction at each annotated frame; a missing one takes the latest earlier prediction
    (none at all: reported absent)."""
    known = sorted(predictions)
    present, boxes = [], []
    for frame in frames:
        index = np.searchsorted(known, frame, side="right") - 1
        if index >= 0:
            is_present, _, box = predictions[known[index]]
        else:
            is_present, box = False, np.zeros(4)
        present.append(is_present)
        boxes.append(box)
    return np.asarray(present, bool), np.asarray(boxes, np.float64).reshape(-1, 4)


def score_results(tasks: list[Sequence], annotations: dict, results_dir) -> dict:
    """TPR, TNR, MaxGM with counts summed over all tasks (the init frame not scored).

    `tasks`: OxUvA sequences (``extra`` video, object, init_frame, last_frame);
    `annotations`: `data_pipelines.datasets.oxuva.read_annotations`.
    """
    total = oxuva_metrics.OxuvaCounts()
    for task in tasks:
        video, obj = task.extra["video"], task.extra["object"]
        labels = annotations.get((video, obj))
        if labels is None:
            raise ValueError(f"no annotations for OxUvA track {video} {obj}")
        frames = sorted(f for f in labels
                        if task.extra["init_frame"] < f <= task.extra["last_frame"])
        predictions = read_oxuva_predictions(oxuva_result_path(results_dir, video, obj))
        pred_present, pred_boxes = align_predictions(predictions, frames)
        gt_present = np.asarray([labels[f][0] for f in frames], bool)
        gt_boxes = np.asarray([labels[f][1] for f in frames], np.float64).reshape(-1, 4)
        total = total + oxuva_metrics.count_track(gt_present, gt_boxes, pred_present, pred_boxes)
    return oxuva_metrics.summarise(total)
