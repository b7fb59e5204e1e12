"""Frames/s of the jitted tracking network step (backbone + FPN + dynamic head + top-k + NMS +
embedding sampling), compile time reported separately; and of the model's forward alone
(backbone, FPN, dynamic head, re-id map: `model.detect`), so that step - forward is the cost of
the candidate selection (top-k, NMS, embedding sampling, device->host copy).

    python benchmarks/bench_network_step.py --config tiny --frames 20
    python benchmarks/bench_network_step.py --config dmtrack_dla34 --frames 5
        [--batch 8] [--dtype bfloat16]

Random weights: speed does not depend on their values. The canvas is the config's tracker input
size (736x512 for the paper config). Reports the median and best of the timed calls with the
load average, and writes benchmarks/results/network_step_<config>_b<batch>_<dtype>.json.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

import benchlib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--input-size", default="", help="H,W (default: the config's "
                        "tracker.input_size; 512,736 for the paper config)")
    args = parser.parse_args()

    from dmtrack_jax.models import build_model, init_variables
    from dmtrack_jax.tracking.network import NetworkStep, canvas_size

    config = benchlib.load_config(args.config)
    config.model.dtype = args.dtype
    if args.input_size:
        config.tracker.input_size = benchlib.parse_hw(args.input_size)
    model = build_model(config.model)
    hw = canvas_size(config.tracker.input_size)
    print(f"canvas {hw}, network fields: pre_nms_top_k={config.tracker.pre_nms_top_k} "
          f"max_detections={config.tracker.max_detections}")
    variables = jax.jit(lambda r: init_variables(model, r, (64, 64)))(jax.random.PRNGKey(0))
    step = NetworkStep(model, variables, config.tracker)
    rng = np.random.default_rng(0)
    canvases = rng.normal(size=(args.batch, *hw, 3)).astype(np.float32)
    boxes = np.tile(np.array([[hw[1] * 0.4, hw[0] * 0.4, hw[1] * 0.6, hw[0] * 0.6]]),
                    (args.batch, 1))

    t0 = time.perf_counter()
    kernels, _ = step.encode(canvases, boxes)
    jax.block_until_ready(kernels)
    t1 = time.perf_counter()
    step.detect(canvases, kernels)
    t2 = time.perf_counter()
    load_start = benchlib.loadavg()
    timing = benchlib.repeat(lambda: step.detect(canvases, kernels), args.frames)
    per_call = timing["median_s"]
    forward = jax.jit(lambda v, x, k: model.apply(v, x, k, method=model.detect,
                                                  with_embeddings=model.reid_dim > 0))
    canvases_device = jax.numpy.asarray(canvases)
    jax.block_until_ready(forward(variables, canvases_device, kernels))
    forward_timing = benchlib.repeat(
        lambda: jax.block_until_ready(forward(variables, canvases_device, kernels)), args.frames)
    result = {
        "config": args.config, "dtype": args.dtype, "canvas_hw": hw, "batch": args.batch,
        "encode_compile_s": round(t1 - t0, 2), "detect_compile_s": round(t2 - t1, 2),
        "detect_ms_per_call_median": round(per_call * 1e3, 2),
        "detect_ms_per_call_min": round(timing["min_s"] * 1e3, 2),
        "frames_per_s": round(args.batch / per_call, 3),
        "forward_ms_median": round(forward_timing["median_s"] * 1e3, 2),
        "forward_ms_min": round(forward_timing["min_s"] * 1e3, 2),
        "selection_ms_median_difference": round((per_call - forward_timing["median_s"]) * 1e3,
                                                2),
        "loadavg_start_end": [load_start, benchlib.loadavg()],
        "device": str(jax.devices()[0]), "cpu": benchlib.cpu_model(),
    }
    print(json.dumps(result))
    benchlib.write_result(f"network_step_{args.config}_{hw[0]}x{hw[1]}_b{args.batch}_"
                          f"{args.dtype}",
                          dict(result, raw=timing, raw_forward=forward_timing,
                               machine=benchlib.machine()))


if __name__ == "__main__":
    main()
