"""benchmarks/gpu_suite.sh's pure parts: the trace summary (a real jax.profiler trace of a small
jitted function) and the report that gathers items into summary.json with the issue's goals."""

from __future__ import annotations

import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_suite_report  # noqa: E402
import trace_summary  # noqa: E402


def test_trace_summary_lists_the_compiled_ops(tmp_path):
    f = jax.jit(lambda x: jnp.tanh(x @ x).sum())
    x = jnp.ones((128, 128), jnp.float32)
    f(x).block_until_ready()
    with jax.profiler.trace(str(tmp_path)):
        for _ in range(3):
            f(x).block_until_ready()
    summary = trace_summary.summarize_dir(tmp_path, top=5)
    assert "error" not in summary
    assert summary["top_ops_source"] is not None
    assert 0 < len(summary["top_ops"]) <= 5
    assert all(op["ms"] >= 0 and op["count"] >= 1 for op in summary["top_ops"])
    assert sum(op["share"] for op in summary["top_ops"]) <= 1.0 + 1e-6
    assert summary["planes"] and summary["size_bytes"] > 0
    json.dumps(summary)  # small and serialisable


def _write(work, item, kind, status, result):
    with open(work / "status.jsonl", "a") as handle:
        handle.write(json.dumps({"item": item, "kind": kind, "status": status, "rc": 0,
                                 "wall_s": 1.0, "command": "x"}) + "\n")
    if result is not None:
        folder = work / "results" / item
        folder.mkdir(parents=True)
        (folder / f"{item}.json").write_text(json.dumps(result))


def test_report_gathers_items_and_judges_goals(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    _write(work, "track_f32", "tracking", "ok",
           {"dtype": "float32", "frames_per_s_median": 350.0,
            "network_frames_per_s_median": 500.0,
            "profile": {"top_ops": [{"name": "fusion.1", "ms": 2.0, "share": 0.5}]}})
    _write(work, "batched_b32", "batched", "ok", {"batch": 32, "frames_per_s": 1500.0})
    _write(work, "train_b8", "train", "ok",
           {"dtype": "float32", "pairs_per_s_median": 10.0,
            "mfu_median": {"bf16": 0.2, "tf32": 0.41}})
    _write(work, "train_b32_bf16", "train", "skipped", None)
    summary = gpu_suite_report.build(work, out)
    for name in ("summary.json", "results.json", "profiles.json"):
        assert json.loads((out / name).read_text())
    assert "profile" not in json.loads((out / "results.json").read_text())["track_f32"]
    assert json.loads((out / "profiles.json").read_text())["track_f32"]["top_ops"]
    goals = {row["item"]: row for row in summary["goals"]}
    assert goals["track_f32"]["met"] is True
    assert goals["batched_b32"]["met"] is False
    assert goals["train_b8"]["measured"] == pytest.approx(0.41)  # float32 -> the tf32 peak
    assert goals["train_b8"]["met"] is True
    assert goals["train_b32_bf16"]["met"] is None
    assert summary["items"]["train_b32_bf16"]["status"] == "skipped"
    assert "track_f32" in gpu_suite_report.table(summary)


def test_mfu_counts_the_model_not_what_the_backend_kept():
    """The H200 run of 2026-11-30 (paper config, 8 pairs): no lowered count on the GPU, and
    the compiled count (0.198 TFLOP) leaves out the cuDNN convolutions (17.8 TFLOP of conv +
    dot). MFU must be judged by the conv + dot count there, by the lowered count where there is
    one, and by the compiled count only when nothing else is known."""
    import bench_train_step

    nan = float("nan")
    assert bench_train_step.mfu_flop_count(nan, 17.795e12, 0.1977e12) == (
        17.795e12, "conv+dot of the traced step")
    assert bench_train_step.mfu_flop_count(7.74e9, 8.52e9, 8.11e9) == (
        7.74e9, "lowered (model as written)")
    assert bench_train_step.mfu_flop_count(nan, nan, 8.11e9) == (8.11e9, "compiled")
    assert bench_train_step.mfu_flop_count(0.0, nan, -1.0)[1] == "none"
    # 17.795 TFLOP in the measured 0.1193 s median step: 30.1% of the 494.7 TFLOP/s TF32 peak
    flops, _ = bench_train_step.mfu_flop_count(nan, 17.795e12, 0.1977e12)
    assert abs(flops / 0.1193 / 494.7e12 - 0.3015) < 5e-4
