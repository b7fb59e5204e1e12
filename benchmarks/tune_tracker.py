"""Tune the association thresholds of a checkpoint on the VALIDATION seed set, never on the
demo's or the ablation's videos.

The network runs once per frame; every grid point is one more association (cheap), so a grid of
a few hundred points costs about one tracking pass. Shared thresholds (`detection_min_score`,
`absent_confidence`) are chosen by the mean success over the three selection modes, so no mode is
favoured; the re-id-only ones (`new_track_score_threshold`, `redetect_score_threshold`,
`redetect_similarity_threshold`, `appearance_weight`, `embedding_match_threshold`) then by the
reid mode's success.

    python benchmarks/tune_tracker.py --checkpoint checkpoints/tiny [--sequences 12 --frames 120]

Prints the grid's best values (they go into the model's config, e.g. configs/tiny.py) and writes
benchmarks/results/tune_tracker.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dmtrack_apps import synthetic_eval  # noqa: E402
from dmtrack_common.fileio import write_json_atomic  # noqa: E402
from dmtrack_jax.tracking.tracker import BatchedTracker  # noqa: E402
from eval import synthetic_benchmark as sb  # noqa: E402

MODES = ("reid", "top1", "position")
# detection_min_score stops at the network's own cut, candidate_min_score (0.05 by default).
SHARED = {"detection_min_score": (0.05, 0.1, 0.15, 0.2), "absent_confidence": (0.05, 0.1, 0.15, 0.2)}
REID = {"new_track_score_threshold": (0.05, 0.1, 0.2),
        "redetect_score_threshold": (0.1, 0.2),
        "redetect_similarity_threshold": (0.2, 0.4),
        "appearance_weight": (0.5, 0.8, 0.98),
        "embedding_match_threshold": (0.4, 0.6, 0.8)}


def _variant(base, mode, values):
    c = base.copy_and_resolve_references()
    c.selection_mode = mode
    for key, value in values.items():
        c[key] = value
    return c


def _grid(space):
    keys = list(space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(space[k] for k in keys))]


def _run(tracker, videos, configs, batch_size):
    tracked, _ = synthetic_eval.track_videos_modes(tracker, videos, configs, batch_size, progress=True)
    return {name: sb.score(videos, tracked[name], configs[name].absent_confidence)["success"]
            for name in configs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "tiny"))
    parser.add_argument("--sequences", type=int, default=12)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tune_tracker.json"))
    args = parser.parse_args()

    tracker = BatchedTracker.from_checkpoint(args.checkpoint)
    config = tracker.config
    videos = sb.make_videos(args.sequences, args.frames, config.data.sources.synthetic.size,
                            seed=sb.VALIDATION_SEED)
    base = config.tracker

    # Stage 1: the shared thresholds, by the mean success over the three modes.
    shared = _grid(SHARED)
    configs = {f"{mode}|{i}": _variant(base, mode, values)
               for i, values in enumerate(shared) for mode in MODES}
    configs.update({f"{mode}|current": _variant(base, mode, {}) for mode in MODES})
    success = _run(tracker, videos, configs, args.batch_size)
    current = {mode: success[f"{mode}|current"] for mode in MODES}
    mean = [sum(success[f"{m}|{i}"] for m in MODES) / len(MODES) for i in range(len(shared))]
    best_shared = shared[max(range(len(shared)), key=mean.__getitem__)]

    # Stage 2: the re-id-only thresholds, with the shared ones fixed.
    reid = _grid(REID)
    configs = {str(i): _variant(base, "reid", {**best_shared, **values})
               for i, values in enumerate(reid)}
    reid_success = _run(tracker, videos, configs, args.batch_size)
    best_index = max(range(len(reid)), key=lambda i: reid_success[str(i)])
    best = {**best_shared, **reid[best_index]}

    final = {mode: _variant(base, mode, best) for mode in MODES}
    tuned = _run(tracker, videos, final, args.batch_size)
    report = {
        "checkpoint": args.checkpoint, "seed": sb.VALIDATION_SEED,
        "sequences": args.sequences, "frames": args.frames,
        "success_with_current_config": current, "best": best, "success_with_best": tuned,
        "shared_grid": [{**v, "mean_success": m} for v, m in zip(shared, mean)],
        "reid_grid": [{**v, "success": reid_success[str(i)]} for i, v in enumerate(reid)],
    }
    write_json_atomic(args.out, report)
    print(json.dumps({k: report[k] for k in ("success_with_current_config", "best",
                                             "success_with_best")}, indent=1))


if __name__ == "__main__":
    main()
