"""A held-out synthetic long-term benchmark, tracked in memory and scored like LaSOT and OxUvA.

Used by the training loop's periodic evaluation, by `dmtrack demo` and by the ablation script.
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
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

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
                distractors: int = 3) -> list[SyntheticVideo]:
    return list(iter_dataset(count, frames, seed, tuple(image_size), distractors))


def video_names(videos: Sequence[SyntheticVideo]) -> list[str]:
    """LaSOT-style names `<class>-<k>`, numbered per class as the LaSOT writer numbers them."""
    counts: dict[str, int] = {}
    names = []
    for video in videos:
        counts[video.object_class] = counts.get(video.object_class, 0) + 1
        names.append(f"{video.object_class}-{counts[video.object_class]}")
    return names


def track_videos_modes(tracker, videos: Sequence[SyntheticVideo], mode_configs: dict,
                       batch_size: int = 1, progress: bool = False, record: int | None = None):
    """Runs the network ONCE per frame and feeds the same candidates to one association per
    selection mode (`mode_configs`: mode -> tracker config): the modes differ only there.

    Returns ({mode: [TrackedVideo]}, recorded) where `recorded` holds, for video `record`
    (if given), the per-frame distractor boxes (x, y, w, h) of the first mode.
    """
    from dmtrack_common.boxes import xyxy_to_xywh
    from dmtrack_jax.tracking.association import BatchedAssociator

    names = video_names(videos)
    results = {mode: [] for mode in mode_configs}
    recorded = []
    first_mode = next(iter(mode_configs))
    total = sum(len(v.frames) - 1 for v in videos)
    with tqdm(total=total, desc="track", unit="frame", disable=not progress) as bar:
        for start in range(0, len(videos), batch_size):
            chunk = list(range(start, min(start + batch_size, len(videos))))
            group = [videos[i] for i in chunk]
            length = len(group[0].frames)
            if any(len(v.frames) != length for v in group):
                raise ValueError("videos tracked in one batch must have the same length")
            first_boxes = np.stack([v.boxes[0, 0] for v in group])
            tracker.initialize([v.frames[0] for v in group], first_boxes)
            associators = {}
            for mode, config in mode_configs.items():
                associators[mode] = BatchedAssociator(config, len(group))
                associators[mode].initialize(tracker.first_boxes_xyxy, tracker.first_embeddings)
            boxes = {m: np.zeros((len(group), length, 4)) for m in mode_configs}
            confidences = {m: np.zeros((len(group), length)) for m in mode_configs}
            for mode in mode_configs:
                boxes[mode][:, 0] = first_boxes
                confidences[mode][:, 0] = 1.0
            for t in range(1, length):
                candidates = tracker.detect([v.frames[t] for v in group])
                for mode, associator in associators.items():
                    out, conf = associator.update(candidates)
                    boxes[mode][:, t] = xyxy_to_xywh(np.asarray(out))
                    confidences[mode][:, t] = conf
                if record is not None and record in chunk:
                    local = chunk.index(record)
                    distractors = associators[first_mode].associators[local].distractor_boxes()
                    recorded.append(xyxy_to_xywh(np.asarray(distractors).reshape(-1, 4)))
                bar.update(len(group))
            for mode in mode_configs:
                for j, i in enumerate(chunk):
                    results[mode].append(TrackedVideo(names[i], boxes[mode][j],
                                                      confidences[mode][j]))
    return results, recorded


def track_videos(tracker, videos: Sequence[SyntheticVideo], batch_size: int = 1,
                 progress: bool = False) -> list[TrackedVideo]:
    """Tracks videos with a `BatchedTracker`-like object, `batch_size` videos in lockstep.

    Videos of a batch must have the same length (the generator's are).
    """
    results = []
    names = video_names(videos)
    chunks = [list(range(i, min(i + batch_size, len(videos))))
              for i in range(0, len(videos), batch_size)]
    total = sum(len(videos[i].frames) - 1 for i in range(len(videos)))
    with tqdm(total=total, desc="track", unit="frame", disable=not progress) as bar:
        for chunk in chunks:
            group = [videos[i] for i in chunk]
            length = len(group[0].frames)
            if any(len(v.frames) != length for v in group):
                raise ValueError("videos tracked in one batch must have the same length")
            first_boxes = [v.boxes[0, 0] for v in group]
            tracker.initialize([v.frames[0] for v in group], first_boxes)
            boxes = np.zeros((len(group), length, 4))
            confidences = np.zeros((len(group), length))
            boxes[:, 0] = np.stack(first_boxes)
            confidences[:, 0] = 1.0
            for t in range(1, length):
                out, conf = tracker.track([v.frames[t] for v in group])
                boxes[:, t] = out
                confidences[:, t] = conf
                bar.update(len(group))
            for j, i in enumerate(chunk):
                results.append(TrackedVideo(names[i], boxes[j], confidences[j]))
    return results


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


def evaluate_tracker(make_tracker: Callable[[], object], count: int, frames: int,
                     image_size: Sequence[int], absent_confidence: float,
                     seed: int = VALIDATION_SEED, batch_size: int = 1,
                     progress: bool = False) -> dict:
    videos = make_videos(count, frames, image_size, seed)
    tracked = track_videos(make_tracker(), videos, batch_size, progress)
    return score(videos, tracked, absent_confidence)
