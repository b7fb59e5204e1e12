"""Host-side association cost per frame ('reid' mode) vs number of candidates and tracklets.

    python benchmarks/bench_association.py [--frames 50] [--dim 128]

Scene: T objects that keep moving (their tracklets stay confirmed and tracked) plus clutter
candidates scoring below the new-tracklet threshold, so the tracklet count stays at T while
the candidate count is N. When N < T only N objects are detected and the others are lost
(still part of stage 1). Prints a table of milliseconds per frame (mean and median) and writes
benchmarks/results/association.json (with the machine and its load average per cell).
"""

from __future__ import annotations

import argparse
import os

# The matrices here are tiny (e.g. 50x128 @ 128x100): a multi-threaded BLAS only adds thread
# wake-ups, and on a loaded machine those cost milliseconds. Measure the single-thread cost
# (export OPENBLAS_NUM_THREADS yourself to measure something else).
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

import benchlib  # noqa: E402  (also puts the repository root on sys.path)
from dmtrack_jax.tracking.association import Candidates, TargetAssociator  # noqa: E402
from dmtrack_jax.tracking.config import default_tracker_config  # noqa: E402


def scene_frame(rng, t, n_objects, n_candidates, origins, embeddings, dim):
    moving = origins + np.array([2.0, 1.0]) * t
    k = min(n_objects, n_candidates)
    boxes = [np.concatenate([moving[:k], moving[:k] + [30.0, 60.0]], axis=1)]
    scores = [np.full(k, 0.8)]
    embs = [embeddings[:k] + 0.02 * rng.normal(size=(k, dim))]
    clutter = n_candidates - k
    if clutter > 0:
        corners = rng.uniform(0, 2000, size=(clutter, 2))
        boxes.append(np.concatenate([corners, corners + 25.0], axis=1))
        scores.append(np.full(clutter, 0.2))  # below new_track_score_threshold (0.4)
        embs.append(rng.normal(size=(clutter, dim)))
    embs = np.concatenate(embs)
    embs /= np.linalg.norm(embs, axis=1, keepdims=True)
    return Candidates(np.concatenate(boxes), np.concatenate(scores), embs)


def time_one(n_candidates, n_tracklets, frames, dim, seed=0):
    rng = np.random.default_rng(seed)
    # Objects on a grid far enough apart that their boxes never overlap.
    side = int(np.ceil(np.sqrt(n_tracklets)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)
    origins = grid[:n_tracklets] * np.array([80.0, 120.0])
    embeddings = rng.normal(size=(n_tracklets, dim))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    associator = TargetAssociator(default_tracker_config())
    associator.initialize(np.concatenate([origins[0], origins[0] + [30.0, 60.0]]), embeddings[0])
    # Two warm-up frames with every object detected: the tracklets are born and confirmed.
    for t in (1, 2):
        associator.update(scene_frame(rng, t, n_tracklets, n_tracklets, origins, embeddings, dim))
    inputs = [scene_frame(rng, t, n_tracklets, n_candidates, origins, embeddings, dim)
              for t in range(3, 3 + frames)]
    times, pool_sizes = [], []
    for candidates in inputs:
        start = time.perf_counter()
        associator.update(candidates)
        times.append(time.perf_counter() - start)
        pool_sizes.append(len(associator.tracklet_ids))
    times = 1e3 * np.array(times)
    return times.mean(), np.median(times), times.min(), np.mean(pool_sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--dim", type=int, default=128, help="re-id embedding width")
    parser.add_argument("--profile", default="", metavar="C,T",
                        help="instead of the table: cProfile one cell (C candidates, T "
                        "tracklets) and print where its time goes")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        n_candidates, n_tracklets = benchlib.parse_hw(args.profile)
        profiler = cProfile.Profile()
        profiler.runcall(time_one, n_candidates, n_tracklets, args.frames, args.dim)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    print(f"association ('reid' mode) per frame, {args.frames} frames, embedding width "
          f"{args.dim}, {benchlib.cpu_model()}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print("pool = mean number of tracklets held (lost ones expire after the lost buffer)")
    print("min = the least-disturbed frame (closest to the uncontended cost on a shared machine)")
    print(f"{'candidates':>10} {'tracklets':>9} {'pool':>6} {'mean ms':>8} {'median ms':>9} "
          f"{'min ms':>7}")
    rows = []
    for n_candidates in (10, 100, 300):
        for n_tracklets in (10, 50, 200):
            load = benchlib.loadavg()
            mean, median, least, pool = time_one(n_candidates, n_tracklets, args.frames,
                                                 args.dim)
            print(f"{n_candidates:>10} {n_tracklets:>9} {pool:>6.1f} {mean:>8.3f} {median:>9.3f} "
                  f"{least:>7.3f}")
            rows.append({"candidates": n_candidates, "tracklets": n_tracklets,
                         "pool_mean": float(pool), "ms_mean": float(mean),
                         "ms_median": float(median), "ms_min": float(least), "loadavg": load})
    path = benchlib.write_result("association", {
        "mode": "reid", "frames": args.frames, "embedding_dim": args.dim, "rows": rows,
        "machine": benchlib.machine()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
