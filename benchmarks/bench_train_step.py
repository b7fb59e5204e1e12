"""Training step throughput (SOT pairs/s) and peak memory; scaling over simulated devices
(issue 9, item 4).

    python benchmarks/bench_train_step.py --config tiny --batch 4 --steps 5
    python benchmarks/bench_train_step.py --config dmtrack_dla34 --batch 2 --steps 2
        --canvas 512,736
    python benchmarks/bench_train_step.py --scaling [--config tiny --per-device-batch 2]

Times the jitted, sharded, donated SOT pair step of `dmtrack_jax.train.step` (forward of
template and search images, detection losses, backward, SGD update) on random pairs (noise
with textured rectangles, T targets per pair), compile time apart. Memory: XLA's compiled
memory analysis of the step (arguments + temporaries + outputs - donated aliases, per device)
and the process's peak resident set (ru_maxrss: everything, compile included; each
configuration runs in its own process so the peak is its own).

--scaling runs this script once per device count (1, 2, 4, 8) in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=8 at a fixed per-device batch (weak scaling).
Simulated devices all share the machine's `nproc` cores, so this shows the SHAPE (that the
sharded program runs and how its overhead grows), not real multi-device speed-up: with one
core per device the step time would stay flat; here it grows once devices outnumber cores.
Model FLOP utilisation (MFU): FLOPs per step over the median step time over each peak of
--peak-tflops, two counts: `mfu_median` (the one gpu_suite.sh judges) from XLA's cost analysis
of the lowered program (every op as written, elementwise too) where the backend gives one,
else from the conv+dot count below (`mfu_flop_count`: on a GPU the lowered count is not
available and the compiled program's leaves out the cuDNN calls), and `mfu_conv_dot_median`
from the convolutions and matrix products of the traced step (forward and backward,
2 x multiply-adds, bench_flops.matmul_conv_flops; 10.5% above XLA's count on the tiny config,
2026-11-29, perhaps from counting the inserted zeros of the dilated convs that back-propagate
through strided ones: not checked). --dtype bfloat16 sets config.model.dtype (bf16 compute,
f32 parameters). --profile-dir traces --profile-steps more steps under jax.profiler and adds
their summary (benchmarks/trace_summary.py).
Writes benchmarks/results/train_<config>_<devices>dev_b<batch>[_<dtype>].json (and
train_scaling_<config>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import benchlib

# Peak dense throughputs of ONE NVIDIA H200 SXM, TFLOP/s, without sparsity: NVIDIA's H200
# datasheet gives the H100 SXM's tensor-core rates (bf16 989.4 = 1979 "with sparsity" / 2; tf32
# 494.7 = 989 / 2; plain fp32 67). JAX runs float32 convs and matmuls on a GPU at its default
# precision, i.e. as TF32 on Hopper, so float32 steps are judged against tf32 and bfloat16 ones
# against bf16; MFU is reported against every peak given. bf16_measured: the 8192^3 bf16 matmul
# measured through PyTorch on such an H200 here (788 TFLOP/s, /work/.library/device/KINDS.md).
DEFAULT_PEAKS = "bf16=989.4,tf32=494.7,bf16_measured=788"


def mfu_flop_count(lowered: float, conv_dot: float, compiled: float) -> tuple[float, str]:
    """The FLOPs per step that MFU is judged by, and where they come from.

    The model as written, counted without the backend: XLA's cost analysis of the lowered
    program where the backend gives it (CPU), else the convolutions and matrix products of the
    traced step (forward and backward, 2 x multiply-adds). XLA's count of the COMPILED program
    comes last: on a GPU it leaves out the cuDNN / cuBLAS library calls, i.e. nearly all of the
    work (H200, 2026-11-30, paper config at batch 8: 0.198 TFLOP compiled against 17.8 TFLOP of
    convolutions and matrix products), and on a CPU it counts Winograd's executed FLOPs.
    NaN or non-positive counts are skipped. Returns (flops, source).
    """
    for flops, source in ((lowered, "lowered (model as written)"),
                          (conv_dot, "conv+dot of the traced step"),
                          (compiled, "compiled")):
        if np.isfinite(flops) and flops > 0:
            return float(flops), source
    return float("nan"), "none"


def parse_peaks(text: str) -> dict[str, float]:
    """'bf16=989.4,tf32=494.7' -> {'bf16': 989.4, 'tf32': 494.7} (TFLOP/s); a bare number is
    named 'peak'."""
    peaks = {}
    for item in filter(None, (v.strip() for v in text.split(","))):
        name, _, value = item.rpartition("=")
        peaks[name or "peak"] = float(value)
    return peaks


def _cost_flops(cost) -> float:
    cost = cost[0] if isinstance(cost, (list, tuple)) and cost else cost
    try:
        return float(cost.get("flops", float("nan"))) if cost else float("nan")
    except (AttributeError, TypeError, ValueError):
        return float("nan")


def sot_pairs(seed: int, batch: int, canvas, targets: int) -> dict[str, np.ndarray]:
    """B (template, search) pairs: noise images showing the same T textured rectangles at
    different places; boxes x1, y1, x2, y2 and a validity mask (all valid)."""
    rng = np.random.default_rng(seed)
    h, w = canvas
    keys = ("template_image", "template_boxes", "search_image", "search_boxes", "box_valid")
    out = {k: [] for k in keys}
    for _ in range(batch):
        side = max(8, min(h, w) // 6)
        patches = [rng.normal(size=(rng.integers(side, 2 * side), rng.integers(side, 2 * side),
                                    3)) * 1.5 + 1.0 for _ in range(targets)]
        for prefix in ("template", "search"):
            image = rng.normal(size=(h, w, 3)).astype(np.float32) * 0.3
            boxes = np.zeros((targets, 4), np.float32)
            for k, patch in enumerate(patches):
                ph, pw = patch.shape[:2]
                y, x = rng.integers(0, h - ph), rng.integers(0, w - pw)
                image[y:y + ph, x:x + pw] = patch
                boxes[k] = (x, y, x + pw, y + ph)
            out[f"{prefix}_image"].append(image)
            out[f"{prefix}_boxes"].append(boxes)
        out["box_valid"].append(np.ones(targets, bool))
    return {k: np.stack(v) for k, v in out.items()}


def xla_memory_mib(memory) -> dict | None:
    """A compiled step's `memory_analysis()` in MiB: arguments, outputs, temporaries, donated
    aliases and their peak estimate (arguments + outputs + temporaries - aliases)."""
    if memory is None:
        return None
    mib = 1.0 / (1 << 20)
    return {
        "argument_mib": round(memory.argument_size_in_bytes * mib, 1),
        "output_mib": round(memory.output_size_in_bytes * mib, 1),
        "temp_mib": round(memory.temp_size_in_bytes * mib, 1),
        "alias_mib": round(memory.alias_size_in_bytes * mib, 1),
        "peak_estimate_mib": round((memory.argument_size_in_bytes + memory.output_size_in_bytes
                                    + memory.temp_size_in_bytes
                                    - memory.alias_size_in_bytes) * mib, 1),
    }


def run_one(args) -> dict:
    import jax

    from dmtrack_jax.models import build_model
    from dmtrack_jax.train import sharding as shd
    from dmtrack_jax.train.optimizer import make_optimizer
    from dmtrack_jax.train.step import create_train_state, make_train_steps

    config = benchlib.load_config(args.config)
    config.model.dtype = args.dtype
    if config.loss.num_ids == 0:  # tiny: identities come from the data; any count will do
        config.loss.num_ids = 64
    canvas = (benchlib.parse_hw(args.canvas) if args.canvas
              else tuple(config.data.sources.synthetic.size))
    targets = args.targets or int(config.data.max_targets)
    devices = jax.devices()[:args.devices]
    if len(devices) < args.devices:
        raise ValueError(f"--devices {args.devices}: only {jax.device_count()} visible (set "
                         f"XLA_FLAGS=--xla_force_host_platform_device_count=N)")
    mesh = shd.make_mesh(args.model_axis, devices)
    shd.check_batch_divides(args.batch, mesh)
    model = build_model(config.model, for_training=True)
    tx = make_optimizer(config.optim)
    state, shardings = create_train_state(model, tx, config, mesh, jax.random.PRNGKey(0))
    sot_step, _ = make_train_steps(model, tx, config, mesh, shardings)
    batches = [shd.global_batch(mesh, sot_pairs(seed, args.batch, canvas, targets))
               for seed in range(2)]

    load_start = benchlib.loadavg()
    start = time.perf_counter()
    lowered = sot_step.lower(state, batches[0])
    compiled = lowered.compile()
    compile_s = time.perf_counter() - start
    print(f"compiled in {compile_s:.1f} s", file=sys.stderr, flush=True)
    memory = compiled.memory_analysis()
    step_flops = _cost_flops(compiled.cost_analysis())
    try:
        lowered_flops = _cost_flops(lowered.cost_analysis())
    except Exception:  # noqa: BLE001 - optional figure
        lowered_flops = float("nan")
    try:
        import bench_flops

        counts = bench_flops.matmul_conv_flops(jax.make_jaxpr(sot_step)(state, batches[0]).jaxpr)
        conv_dot_flops = counts["conv"] + counts["dot"]
    except Exception as err:  # noqa: BLE001 - optional figure (jaxpr layout of another JAX)
        print(f"conv/dot FLOP count failed: {type(err).__name__}: {err}", file=sys.stderr)
        conv_dot_flops = float("nan")

    state, metrics = compiled(state, batches[1])  # first run: allocations, thread pool start
    jax.block_until_ready(metrics)
    times = []
    for i in range(args.steps):
        start = time.perf_counter()
        state, metrics = compiled(state, batches[i % 2])
        jax.block_until_ready((state, metrics))
        times.append(time.perf_counter() - start)
        print(f"step {i}: {times[-1]:.2f} s", file=sys.stderr, flush=True)
    loss = float(np.asarray(metrics["loss"]))
    timing = benchlib.summarize(times)
    profile = None
    if args.profile_dir:
        def one_step():
            nonlocal state, metrics
            state, metrics = compiled(state, batches[0])
            return state, metrics
        profile = benchlib.profiled(args.profile_dir, one_step, args.profile_steps)
    mfu_flops, mfu_source = mfu_flop_count(lowered_flops, conv_dot_flops, step_flops)
    achieved = mfu_flops / timing["median_s"] / 1e12
    achieved_conv_dot = conv_dot_flops / timing["median_s"] / 1e12
    peaks = parse_peaks(args.peak_tflops)
    mfu = {name: float(f"{achieved / peak:.4g}") for name, peak in peaks.items()}
    mfu_conv_dot = {name: float(f"{achieved_conv_dot / peak:.4g}") for name, peak in peaks.items()}
    xla_memory = xla_memory_mib(memory)
    return {
        "config": args.config, "canvas_hw": canvas, "targets": targets,
        "global_batch_pairs": args.batch, "devices": len(devices),
        "mesh": dict(mesh.shape), "steps_timed": args.steps,
        "compile_s": round(compile_s, 2),
        "step_s_median": round(timing["median_s"], 4), "step_s_min": round(timing["min_s"], 4),
        "pairs_per_s_median": round(args.batch / timing["median_s"], 3),
        "pairs_per_s_best": round(args.batch / timing["min_s"], 3),
        "dtype": args.dtype,
        "xla_cost_flops_per_step": step_flops,
        "xla_cost_flops_per_step_lowered": lowered_flops,
        "conv_dot_flops_per_step": conv_dot_flops,
        "mfu_flops_source": mfu_source,
        "achieved_tflops_median": float(f"{achieved:.4g}") if np.isfinite(achieved) else None,
        "peak_tflops": peaks, "mfu_median": mfu, "mfu_conv_dot_median": mfu_conv_dot,
        "xla_memory_per_device": xla_memory,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "final_loss": loss, "loadavg_start_end": [load_start, benchlib.loadavg()],
        "raw": timing, "machine": benchlib.machine(),
        **({"profile": profile} if profile is not None else {}),
    }


def scaling(args) -> dict:
    """Weak scaling: one subprocess per device count, each with 8 simulated host devices."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    rows = []
    # Weak scaling (fixed per-device batch), then the largest global batch on ONE device: the
    # cost of splitting the same work over simulated devices.
    plan = [(count, args.per_device_batch * count) for count in (1, 2, 4, 8)]
    plan.append((1, args.per_device_batch * 8))
    for count, batch in plan:
        command = [sys.executable, __file__, "--config", args.config, "--devices", str(count),
                   "--batch", str(batch), "--steps", str(args.steps)]
        if args.canvas:
            command += ["--canvas", args.canvas]
        print("$", " ".join(command[1:]), flush=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"  {count} devices, global batch {row['global_batch_pairs']}: "
              f"{row['step_s_median']:.3f} s/step, {row['pairs_per_s_median']:.2f} pairs/s, "
              f"compile {row['compile_s']:.1f} s, peak RSS {row['peak_rss_mib']:.0f} MiB, "
              f"load {row['loadavg_start_end']}", flush=True)
    return {"config": args.config, "per_device_batch": args.per_device_batch,
            "XLA_FLAGS": env["XLA_FLAGS"], "rows": rows, "machine": benchlib.machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--batch", type=int, default=4, help="global SOT pairs per step")
    parser.add_argument("--canvas", default="", help="H,W of the pair images (default: the "
                        "config's synthetic size, 128x160)")
    parser.add_argument("--targets", type=int, default=0, help="T (default data.max_targets)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--model-axis", type=int, default=1)
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--per-device-batch", type=int, default=2)
    parser.add_argument("--dtype", default="float32", help="config.model.dtype (compute)")
    parser.add_argument("--peak-tflops", default=DEFAULT_PEAKS, help="peaks for MFU, "
                        "NAME=TFLOP/s,... (default: one H200's dense bf16 and tf32 datasheet "
                        "rates and a measured bf16 matmul; see DEFAULT_PEAKS)")
    benchlib.add_profile_args(parser, "training steps")
    args = parser.parse_args()
    if args.scaling:
        result = scaling(args)
        path = benchlib.write_result(f"train_scaling_{args.config}", result)
        print(f"wrote {path}")
        return
    result = run_one(args)
    name = f"train_{args.config}_{args.devices}dev_b{args.batch}"
    if args.dtype != "float32":
        name += f"_{args.dtype}"
    benchlib.write_result(name, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("raw", "machine",
                                                                    "profile")}))


if __name__ == "__main__":
    main()
