"""The PyTorch port of our detection loss in benchmarks/bench_train_step_torch.py (the torch
side of the JAX-vs-PyTorch training-step benchmark) computes `dmtrack_jax.losses.
detection_loss`: same FCOS targets, focal, -log IoU and centerness terms, on random head
outputs with several targets of different sizes (every pyramid level's regress range used).
If losses.py or targets.py change, this fails before the benchmark would compare two
different training steps."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from configs import dmtrack_gs_official
from dmtrack_jax.losses import detection_loss

torch = pytest.importorskip("torch", reason="torch is the optional [torch] extra")

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark():
    if str(BENCHMARKS) not in sys.path:  # its own imports (benchlib, bench_*) live there
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("_bench_train_step_torch",
                                                  BENCHMARKS / "bench_train_step_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torch_port_equals_detection_loss():
    import torch.nn.functional as F

    bench = load_benchmark()
    loss_config = dmtrack_gs_official.get_config().loss
    strides = (8, 16, 32)
    rng = np.random.default_rng(0)
    shapes = [(24, 32), (12, 16), (6, 8)]  # a 192x256 canvas
    boxes = np.array([[[20, 30, 60, 70], [10, 10, 150, 120]],
                      [[100, 40, 250, 190], [60, 80, 110, 100]]], np.float32)  # (B, T, 4)
    b, t = boxes.shape[:2]
    outputs = {name: [rng.normal(size=(b, t, h, w, c)).astype(np.float32) for h, w in shapes]
               for name, c in (("cls", 2), ("reg", 4), ("ctr", 1))}
    outputs["reg"] = [np.abs(m) * 30.0 for m in outputs["reg"]]  # distances in pixels

    total, parts = detection_loss({k: [jnp.asarray(m) for m in v] for k, v in outputs.items()},
                                  jnp.asarray(boxes), jnp.ones((b, t), bool), loss_config,
                                  strides)
    ours = {"det_loss": float(total), **{k: float(v) for k, v in parts.items()}}
    nchw = {k: [torch.from_numpy(np.moveaxis(m, -1, 2).copy()) for m in v]
            for k, v in outputs.items()}
    port = bench.torch_losses(torch, F, nchw, torch.from_numpy(boxes), loss_config, strides)
    port = {k: float(v) for k, v in port.items()}
    assert ours["num_pos"] > 3 and ours["iou"] < 5.0, ours  # positives, IoU above the clamp
    for key in bench.LOSS_KEYS:
        assert port[key] == pytest.approx(ours[key], rel=1e-5), (key, port, ours)
