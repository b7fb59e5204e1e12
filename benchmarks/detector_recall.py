"""How good is a checkpoint's detector, before any association? Per visible-target frame:

  top1_target  - the highest-scoring candidate overlaps the target (IoU > 0.5)
  top1_object  - it overlaps the target OR a distractor (it found *an* object)
  recall@k     - some candidate among the k best overlaps the target
  target_rank  - mean rank of the best-overlapping candidate when one exists (0 = top)
  reid_pick    - on frames where the target AND a distractor are each covered by a candidate:
                 the candidate most similar (cosine) to the target's first-frame embedding is
                 the target's (what re-id can add over the detector's own ranking; chance is
                 1 / the number of covered objects, mean given as reid_chance)

    python benchmarks/detector_recall.py --checkpoint checkpoints/tiny --seed 10000 \
        --sequences 12 --frames 600 [--preset lasot-like]

Use the training seed (`--seed 0`) to tell under-fitting (bad on both) from over-fitting.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def measure(tracker, videos, ks=(1, 5, 20), min_visibility: float = 0.5) -> dict:
    from dmtrack_common.boxes import iou_matrix, xywh_to_xyxy

    counts = {"frames": 0, "top1_target": 0, "top1_object": 0, "no_candidate": 0}
    counts.update({f"recall@{k}": 0 for k in ks})
    ranks, top_scores, reid_picks, reid_chance = [], [], [], []
    for video in videos:
        tracker.initialize([video.frames[0]], [video.boxes[0, 0]])
        for t in range(1, len(video.frames)):
            if not video.visible[t, 0] or video.visibility[t, 0] < min_visibility:
                continue
            cand = tracker.detect([video.frames[t]])[0]
            counts["frames"] += 1
            if len(cand.scores) == 0:
                counts["no_candidate"] += 1
                continue
            order = np.argsort(-cand.scores)
            boxes = cand.boxes[order]
            top_scores.append(float(cand.scores[order[0]]))
            visible = video.visible[t]
            objects = xywh_to_xyxy(np.nan_to_num(video.boxes[t]))
            overlap = iou_matrix(boxes, objects)  # (N, K)
            hit_target = overlap[:, 0] > 0.5
            counts["top1_target"] += int(hit_target[0])
            counts["top1_object"] += int((overlap[0, visible] > 0.5).any())
            for k in ks:
                counts[f"recall@{k}"] += int(hit_target[:k].any())
            if hit_target.any():
                ranks.append(int(np.argmax(hit_target)))
            # Re-id: the best candidate of each covered object, then the most similar one.
            first = tracker.first_frame_embeddings[0]
            covered = [k for k in range(len(visible)) if visible[k] and (overlap[:, k] > 0.5).any()]
            if 0 in covered and len(covered) > 1 and np.linalg.norm(first) > 0:
                embeddings = cand.embeddings[order]
                picks = [int(np.argmax(overlap[:, k])) for k in covered]
                similarity = [float(embeddings[i] @ first) for i in picks]
                reid_picks.append(covered[int(np.argmax(similarity))] == 0)
                reid_chance.append(1.0 / len(covered))
    n = max(counts["frames"], 1)
    out = {key: value / n for key, value in counts.items() if key != "frames"}
    out["frames"] = counts["frames"]
    out["target_rank"] = float(np.mean(ranks)) if ranks else None
    out["mean_top_score"] = float(np.mean(top_scores)) if top_scores else None
    out["reid_pick"] = float(np.mean(reid_picks)) if reid_picks else None
    out["reid_chance"] = float(np.mean(reid_chance)) if reid_chance else None
    out["reid_frames"] = len(reid_picks)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--preset", choices=("default", "lasot-like"), default="lasot-like",
                        help="synthetic generator preset (default lasot-like)")
    args = parser.parse_args(argv)

    from dmtrack_jax.tracking.tracker import BatchedTracker
    from eval.synthetic_benchmark import make_videos

    tracker = BatchedTracker.from_checkpoint(args.checkpoint)
    config = tracker.config
    size = tuple(config.data.sources.synthetic.size)
    videos = make_videos(args.sequences, args.frames, size, seed=args.seed, preset=args.preset)
    result = measure(tracker, videos)
    result.update(checkpoint=args.checkpoint, seed=args.seed, sequences=args.sequences)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
