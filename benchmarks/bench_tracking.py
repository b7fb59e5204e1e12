"""Online tracking throughput (frames/s) and where a frame's time goes (issue 9, items 1-2).

    python benchmarks/bench_tracking.py --config tiny --frames 20
    python benchmarks/bench_tracking.py --config dmtrack_dla34 --frames 4

One sequence, one frame at a time, as `dmtrack track` runs it: JPEG-encoded frames of
--source-size (default 720x1280, a typical video) are decoded (cv2.imdecode + BGR->RGB),
resized keeping aspect ratio by the config's `resize_rule` to fit --input-size (default the
paper's 512x736, H x W), padded by its `canvas` rule (default: to multiples of 32, so a 720x1280
frame runs on a 416x736 canvas; --canvas fixed for the 512x736 canvas of every frame) and
tracked ('reid' association). Random weights: the network's cost does not depend on them;
the association's does (it grows with the candidate count, reported as `candidates`).

Two passes over the same frames after a compile pass:
  * split: decode, preprocess (resize + normalise + paste), network step (jitted encode-free
    detect: backbone, FPN, dynamic head, top-k, NMS, embedding sampling, device->host copy),
    association (Candidates in frame pixels + the associator's update), each timed alone;
  * end to end: decode + `BatchedTracker.track([frame])` (what `Tracker.track` runs), the
    frames/s a user sees.
Compile time (first encode + first detect call) is reported separately. --dtype bfloat16 sets
config.model.dtype (bf16 compute, f32 parameters). --profile-dir traces --profile-steps more
end-to-end frames under jax.profiler and adds their summary (benchmarks/trace_summary.py). Writes
benchmarks/results/tracking_<config>_<H>x<W>[_<conv algorithm>][_<dtype>].json.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # association matrices are tiny

import time  # noqa: E402

import cv2  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

import benchlib  # noqa: E402
from dmtrack_jax.models import build_model, init_variables  # noqa: E402
from dmtrack_jax.tracking.association import Candidates  # noqa: E402
from dmtrack_jax.tracking.network import preprocess_frame  # noqa: E402
from dmtrack_jax.tracking.tracker import BatchedTracker  # noqa: E402


def synthetic_jpegs(count: int, hw: tuple[int, int], seed: int = 0) -> list[bytes]:
    """JPEG bytes of `count` frames: a smooth background with a few moving textured boxes
    (natural-image-like enough that decode cost is representative of real video frames)."""
    rng = np.random.default_rng(seed)
    h, w = hw
    base = cv2.resize(rng.integers(0, 255, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8),
                      (w, h), interpolation=cv2.INTER_CUBIC)
    patches = [rng.integers(0, 255, (h // 6, w // 10, 3), dtype=np.uint8) for _ in range(4)]
    out = []
    for t in range(count):
        frame = base.copy()
        for k, patch in enumerate(patches):
            y = (h // 5 + 7 * t + k * h // 6) % (h - patch.shape[0])
            x = (w // 5 + 11 * t + k * w // 5) % (w - patch.shape[1])
            frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append(data.tobytes())
    return out


def decode(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def first_box(hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    return np.array([w * 0.2, h * 0.2, w / 10, h / 6])  # x, y, w, h: the first patch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny")
    benchlib.add_conv_algorithm_arg(parser)
    parser.add_argument("--dtype", default="float32", help="config.model.dtype (compute)")
    parser.add_argument("--frames", type=int, default=10, help="timed frames per pass")
    parser.add_argument("--input-size", default="512,736", help="H,W canvas (paper: 512,736)")
    parser.add_argument("--source-size", default="720,1280", help="H,W of the video frames")
    parser.add_argument("--canvas", default="", choices=("", "pad", "fixed"),
                        help="config.tracker.canvas (fixed also sets resize_rule=fit); "
                        "default: the config's")
    parser.add_argument("--score-floor", type=float, default=0.0,
                        help="candidate_min_score and detection_min_score: random weights score "
                        "every location ~0.01, under the defaults (0.05, 0.1) no candidate "
                        "would reach the association; 0 hands it max_detections (100) of them, "
                        "the cluttered-scene worst case. Negative: keep the config's values")
    benchlib.add_profile_args(parser, "end-to-end frames")
    args = parser.parse_args()
    input_hw = benchlib.parse_hw(args.input_size)
    source_hw = benchlib.parse_hw(args.source_size)

    config = benchlib.load_config(args.config)
    config.model.conv_algorithm = args.conv_algorithm
    config.model.dtype = args.dtype
    tracker_overrides = {"input_size": input_hw}
    if args.canvas:
        tracker_overrides["canvas"] = args.canvas
        if args.canvas == "fixed":
            tracker_overrides["resize_rule"] = "fit"
    if args.score_floor >= 0:
        tracker_overrides.update(candidate_min_score=args.score_floor,
                                 detection_min_score=args.score_floor)
    model = build_model(config.model)
    variables = jax.jit(lambda r: init_variables(model, r, (64, 64)))(jax.random.PRNGKey(0))
    jpegs = synthetic_jpegs(args.frames + 2, source_hw)
    box = first_box(source_hw)
    load_start = benchlib.loadavg()

    # Compile pass: frame 0 initialises (encode compiles), frame 1 tracks (detect compiles).
    tracker = BatchedTracker.from_config(config, variables, **tracker_overrides)
    start = time.perf_counter()
    tracker.initialize([decode(jpegs[0])], [box])
    encode_first_s = time.perf_counter() - start
    start = time.perf_counter()
    tracker.track([decode(jpegs[1])])
    detect_first_s = time.perf_counter() - start

    # Split pass: each stage of each frame timed alone.
    stages = {k: [] for k in ("decode", "preprocess", "network", "association")}
    counts = []
    for data in jpegs[2:]:
        t0 = time.perf_counter()
        frame = decode(data)
        t1 = time.perf_counter()
        tc = tracker.tracker_config
        canvas, scale, resized = preprocess_frame(frame, input_hw, resize_rule=tc.resize_rule,
                                                  canvas=tc.canvas,
                                                  multiple=tc.canvas_multiple)
        t2 = time.perf_counter()
        found = tracker.network.detect(canvas[None], tracker.kernels, [resized])
        t3 = time.perf_counter()
        keep = found.valid[0]
        candidates = Candidates(found.boxes[0][keep] / scale, found.scores[0][keep],
                                found.embeddings[0][keep])
        tracker.associate([candidates])
        t4 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[name].append(seconds)
        counts.append(len(candidates))

    # End-to-end pass: the same tracker (a new one would re-trace and re-compile: the jitted
    # functions belong to the NetworkStep instance). `Tracker.track` is this call plus [0].
    end_to_end = []
    for data in jpegs[2:]:
        t0 = time.perf_counter()
        tracker.track([decode(data)])
        end_to_end.append(time.perf_counter() - t0)
    load_end = benchlib.loadavg()
    profile = None
    if args.profile_dir:
        frames = [decode(data) for data in jpegs[2:2 + args.profile_steps]]
        frames += frames[-1:] * (args.profile_steps - len(frames))
        profile = benchlib.profiled(args.profile_dir,
                                    lambda it=iter(frames): tracker.track([next(it)]),
                                    args.profile_steps)

    split = {k: benchlib.summarize(v) for k, v in stages.items()}
    e2e = benchlib.summarize(end_to_end)
    split_total = sum(s["median_s"] for s in split.values())
    result = {
        "config": args.config, "input_hw": input_hw, "source_hw": source_hw,
        "canvas_hw": list(tracker.network.compiled_sizes[0][2:]),
        "conv_algorithm": args.conv_algorithm, "dtype": args.dtype,
        "frames": args.frames, "score_floor": args.score_floor,
        "loadavg_start_end": [load_start, load_end],
        "compile": {"encode_first_call_s": round(encode_first_s, 2),
                    "track_first_call_s": round(detect_first_s, 2)},
        "split_ms_median": {k: round(1e3 * s["median_s"], 3) for k, s in split.items()},
        "split_ms_min": {k: round(1e3 * s["min_s"], 3) for k, s in split.items()},
        "split_share": {k: round(s["median_s"] / split_total, 4) for k, s in split.items()},
        "candidates_mean": float(np.mean(counts)),
        "end_to_end_ms_median": round(1e3 * e2e["median_s"], 3),
        "end_to_end_ms_min": round(1e3 * e2e["min_s"], 3),
        "frames_per_s_median": round(1.0 / e2e["median_s"], 3),
        "network_frames_per_s_median": round(1.0 / split["network"]["median_s"], 3),
        "raw": {"split": split, "end_to_end": e2e},
        "machine": benchlib.machine(),
    }
    if profile is not None:
        result["profile"] = profile
    name = f"tracking_{args.config}_{input_hw[0]}x{input_hw[1]}"
    if args.conv_algorithm != "auto":
        name += f"_{args.conv_algorithm}"
    if args.dtype != "float32":
        name += f"_{args.dtype}"
    path = benchlib.write_result(name, result)
    print(f"{args.config} at {input_hw[0]}x{input_hw[1]} (frames {source_hw[0]}x{source_hw[1]} "
          f"JPEG), {args.frames} frames, load {load_start} -> {load_end}")
    print(f"compile: encode {encode_first_s:.1f} s, first track {detect_first_s:.1f} s")
    print(f"{'stage':<12} {'median ms':>10} {'min ms':>9} {'share':>6}")
    for k, s in split.items():
        print(f"{k:<12} {1e3 * s['median_s']:>10.2f} {1e3 * s['min_s']:>9.2f} "
              f"{s['median_s'] / split_total:>6.1%}")
    print(f"candidates per frame (mean): {np.mean(counts):.1f}")
    print(f"end to end (decode + Tracker.track): {1e3 * e2e['median_s']:.1f} ms median -> "
          f"{1.0 / e2e['median_s']:.2f} frames/s")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
