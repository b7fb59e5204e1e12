"""Frames/s of the jitted tracking network step (backbone + FPN + dynamic head + top-k + NMS +
embedding sampling), compile time reported separately.

    python benchmarks/bench_network_step.py --config tiny --frames 20
    python benchmarks/bench_network_step.py --config dmtrack_dla34 --frames 5 [--batch 8] [--dtype bfloat16]

Random weights: speed does not depend on their values. The canvas is the config's tracker input
size (736x512 for the paper config).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import time

import jax
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    from dmtrack_jax.models import build_model, init_variables
    from dmtrack_jax.tracking.network import NetworkStep, canvas_size

    config = importlib.import_module(f"configs.{args.config}").get_config()
    config.model.dtype = args.dtype
    model = build_model(config.model)
    hw = canvas_size(config.tracker.input_size)
    print(f"canvas {hw}, network fields: pre_nms_top_k={config.tracker.pre_nms_top_k} "
          f"max_detections={config.tracker.max_detections}")
    variables = jax.jit(lambda r: init_variables(model, r, (64, 64)))(jax.random.PRNGKey(0))
    step = NetworkStep(model, variables, config.tracker)
    rng = np.random.default_rng(0)
    canvases = rng.normal(size=(args.batch, *hw, 3)).astype(np.float32)
    boxes = np.tile(np.array([[hw[1] * 0.4, hw[0] * 0.4, hw[1] * 0.6, hw[0] * 0.6]]), (args.batch, 1))

    t0 = time.perf_counter()
    kernels, _ = step.encode(canvases, boxes)
    jax.block_until_ready(kernels)
    t1 = time.perf_counter()
    step.detect(canvases, kernels)
    t2 = time.perf_counter()
    for _ in range(args.frames):
        step.detect(canvases, kernels)
    t3 = time.perf_counter()
    per_call = (t3 - t2) / args.frames
    result = {
        "config": args.config, "dtype": args.dtype, "canvas_hw": hw, "batch": args.batch,
        "encode_compile_s": round(t1 - t0, 2), "detect_compile_s": round(t2 - t1, 2),
        "detect_ms_per_call": round(per_call * 1e3, 2),
        "frames_per_s": round(args.batch / per_call, 3),
        "device": str(jax.devices()[0]), "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
