"""Tracking the held-out synthetic benchmark (`eval.synthetic_benchmark`) with a tracker.

`eval.synthetic_benchmark` makes the videos and scores results without knowing any tracker;
this module drives a `BatchedTracker`-like object over them: `track_videos` through its
`initialize` / `track`, `track_videos_modes` through its public `detect` and
`new_association` (one network pass, one association per selection mode). Used by
`dmtrack demo`, the training loop's periodic evaluation and the benchmark scripts.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from data_pipelines.synthetic import SyntheticVideo
from dmtrack_common.boxes import xyxy_to_xywh
from eval.synthetic_benchmark import (VALIDATION_SEED, TrackedVideo, make_videos, score,
                                      video_names)

__all__ = ["track_videos_modes", "track_videos", "evaluate_tracker", "detect_videos",
           "replay_videos"]


def track_videos_modes(tracker, videos: Sequence[SyntheticVideo], mode_configs: dict,
                       batch_size: int = 1, progress: bool = False, record: int | None = None):
    """Runs the network ONCE per frame and feeds the same candidates to one association per
    selection mode (`mode_configs`: mode -> tracker config): the modes differ only there.

    `tracker` is a `BatchedTracker` (its `detect` and `new_association` are used).

    Returns ({mode: [TrackedVideo]}, recorded) where `recorded` holds, for video `record`
    (if given), the per-frame distractor boxes (x, y, w, h) of the first mode.
    """
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
            associators = {mode: tracker.new_association(config)
                           for mode, config in mode_configs.items()}
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
                    distractors = associators[first_mode].distractor_boxes(local)
                    recorded.append(xyxy_to_xywh(distractors))
                bar.update(len(group))
            for mode in mode_configs:
                for j, i in enumerate(chunk):
                    results[mode].append(TrackedVideo(names[i], boxes[mode][j],
                                                      confidences[mode][j]))
    return results, recorded


def detect_videos(tracker, videos: Sequence[SyntheticVideo], batch_size: int = 1,
                  progress: bool = False) -> list[dict]:
    """Runs the network once over every frame and keeps what association needs, so that any
    number of association settings can be replayed on it (`replay_videos`) without the
    network: per video a dict with `name`, `first_box` (4,) x1, y1, x2, y2, `first_embedding`
    (D,) and `candidates` (one `association.Candidates` per frame after the first)."""
    names = video_names(videos)
    cache: list[dict] = []
    total = sum(len(v.frames) - 1 for v in videos)
    with tqdm(total=total, desc="detect", unit="frame", disable=not progress) as bar:
        for start in range(0, len(videos), batch_size):
            group = videos[start:start + batch_size]
            length = len(group[0].frames)
            if any(len(v.frames) != length for v in group):
                raise ValueError("videos detected in one batch must have the same length")
            tracker.initialize([v.frames[0] for v in group], np.stack([v.boxes[0, 0]
                                                                         for v in group]))
            association = tracker.new_association()
            entries = [{"name": names[start + j], "candidates": [],
                        "first_box": association.associators[j].target_box.copy(),
                        "first_embedding": association.associators[j].first_embedding.copy()}
                       for j in range(len(group))]
            for t in range(1, length):
                for entry, found in zip(entries, tracker.detect([v.frames[t] for v in group])):
                    entry["candidates"].append(found)
                bar.update(len(group))
            cache.extend(entries)
    return cache


def replay_videos(cache: Sequence[dict], tracker_config, pixel_inclusive: bool = False
                  ) -> list[TrackedVideo]:
    """One association setting (`tracker_config`, checked) over `detect_videos`' output ->
    one `TrackedVideo` per video (x, y, w, h boxes, confidences; frame 0 is the first box)."""
    from dmtrack_jax.tracking.association import TargetAssociator

    results = []
    for entry in cache:
        associator = TargetAssociator(tracker_config)
        associator.initialize(entry["first_box"], entry["first_embedding"])
        length = len(entry["candidates"]) + 1
        boxes, confidences = np.zeros((length, 4)), np.ones(length)
        boxes[0] = entry["first_box"]
        for t, found in enumerate(entry["candidates"], start=1):
            boxes[t], confidences[t] = associator.update(found)
        results.append(TrackedVideo(entry["name"], xyxy_to_xywh(boxes,
                                                                pixel_inclusive=pixel_inclusive),
                                    confidences))
    return results


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
                out = tracker.track([v.frames[t] for v in group])
                boxes[:, t] = [r.box for r in out]
                confidences[:, t] = [r.confidence for r in out]
                bar.update(len(group))
            for j, i in enumerate(chunk):
                results.append(TrackedVideo(names[i], boxes[j], confidences[j]))
    return results


def evaluate_tracker(make_tracker: Callable[[], object], count: int, frames: int,
                     image_size: Sequence[int], absent_confidence: float,
                     seed: int = VALIDATION_SEED, batch_size: int = 1,
                     progress: bool = False) -> dict:
    """Makes `count` held-out videos of `frames` frames (`image_size` (H, W), `seed`), tracks
    them with `make_tracker()` (a `BatchedTracker`-like object; `batch_size` videos in
    lockstep) and scores them (`eval.synthetic_benchmark.score`: fractions in [0, 1])."""
    videos = make_videos(count, frames, image_size, seed)
    tracked = track_videos(make_tracker(), videos, batch_size, progress)
    return score(videos, tracked, absent_confidence)
