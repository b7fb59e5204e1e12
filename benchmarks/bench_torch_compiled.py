"""JAX vs the strongest PyTorch CPU baseline we can run: the reference model with compiled
deformable-conv / RoIAlign ops, inference mode, channels_last and torch.compile (issue 21, 1a).

    python benchmarks/bench_torch_compiled.py [--repeats 5] [--input-size 512,736]

Model and weights as in bench_torch_vs_jax.py: the released DMTrack-GS architecture (DLA-34 +
DLA-up with DCNv2 + FPN + dynamic-conv head, full width), random weights (fixed seed) converted
with `dmtrack_jax.convert.convert_state_dict`. Timed: `detect` at 736x512 for one image and one
target (the per-frame network step of tracking). The paper config (configs/dmtrack_dla34.py)
runs the same `detect` network (the controllers' padding quirk only changes `encode_template`;
its re-id head is not in the PyTorch reference and not timed here), so one figure covers both.

PyTorch contenders, all in one worker process (never sharing a process with XLA), each checked
against JAX's outputs (relative error <= 1e-3 on every cls/reg/ctr level) before any timing:
  gather       the plain reference (tests/convert/torch_reference.py: DCN written with gathers),
               no_grad, NCHW: the baseline of bench_torch_vs_jax.py;
  compiled     the reference with its DCN and RoIAlign ops swapped (`DCN.deform_op`,
               `DMTrackGS.roi_align_op`) for compiled kernels, under torch.inference_mode();
  compiled_cl  the same in channels_last (model and input);
  compiled_tc  the faster of the two above, its `detect` wrapped in torch.compile (inductor);
               if compiling fails, the error is recorded and the contender is dropped.
Compiled ops: torchvision.ops.deform_conv2d (with mask) and torchvision.ops.roi_align
(aligned=True, sampling_ratio 2) when torchvision's C++ ops load; otherwise (the PyPI
torchvision wheels link CUDA libraries that torch's +cpu build lacks, and the +cpu wheels'
index is not reachable here) torch's own compiled `F.grid_sample` (bilinear, zeros outside:
mmcv's DCNv2 sampling) over all 9 kernel points in one call, then one matmul; RoIAlign then
stays the reference's (it runs in `encode_template` only, once per target, never timed).
The result records which (`dcn_op`).

mmcv's DCNv2 offset layout (conv_offset's 27 channels split in thirds o1, o2, m; offsets =
cat(o1, o2) read as (dy, dx) per kernel point k at channels 2k, 2k + 1; mask = sigmoid(m)) is
torchvision's `deform_conv2d` layout too (offset (N, 2 * kh * kw, H, W) with (dy, dx) pairs,
mask (N, kh * kw, H, W)), so no conversion is needed.

Calls alternate JAX, gather, compiled, ... with a short pause between, so a load change hits
all alike. Writes benchmarks/results/torch_compiled_vs_jax.json and appends a line to
benchmarks/results/torch_compiled_vs_jax_history.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback

import numpy as np

import benchlib
from bench_torch_vs_jax import JaxDetect, build_reference, jax_trunk, relative_error

PAUSE_S = 0.5
WARMUP_TC = 6  # untimed torch.compile calls before timing
TOLERANCE = 1e-3


# ----------------------------------------------------------------------------------------------
# Compiled ops


def torchvision_ops():
    """(deform_conv2d, roi_align) of torchvision when its C++ ops load, else None (and why)."""
    try:
        import torch
        import torchvision.ops as tv_ops

        # Importing can succeed while the kernels are missing: call each once.
        x = torch.zeros(1, 1, 3, 3)
        tv_ops.deform_conv2d(x, torch.zeros(1, 18, 3, 3), torch.zeros(1, 1, 3, 3),
                             padding=1, mask=torch.ones(1, 9, 3, 3))
        tv_ops.roi_align(x, [torch.zeros(1, 4)], 2, aligned=True)
        return tv_ops, ""
    except Exception as err:  # noqa: BLE001 - any failure means "not usable here"
        return None, f"{type(err).__name__}: {err}"


def compiled_ops():
    """The strongest ops that run here: (dcn_op, roi_op or None, dcn_name, torchvision_error).
    torchvision's deform_conv2d / roi_align when they load, else torch's compiled grid_sample
    DCN (RoIAlign then stays the reference's gathers)."""
    tv_ops, tv_error = torchvision_ops()
    if tv_ops is not None:
        return tv_deform_conv, tv_roi_align, "torchvision.ops.deform_conv2d", tv_error
    return grid_sample_deform_conv, None, "torch F.grid_sample + matmul", tv_error


def tv_deform_conv(x, offset, mask, weight, bias, padding: int = 1):
    import torchvision.ops as tv_ops

    return tv_ops.deform_conv2d(x, offset, weight, bias, padding=padding, mask=mask)


def tv_roi_align(feature, box, output_size: int, spatial_scale: float, sampling_ratio: int):
    import torch
    import torchvision.ops as tv_ops

    boxes = torch.tensor([[float(v) for v in box]], dtype=feature.dtype)
    return tv_ops.roi_align(feature[None], [boxes], output_size, spatial_scale,
                            sampling_ratio, aligned=True)[0]


def grid_sample_deform_conv(x, offset, mask, weight, bias, padding: int = 1):
    """mmcv modulated deformable conv (stride 1, dilation 1, one group) with torch's compiled
    bilinear sampler: point k = i * kw + j of output (y, x) reads the input at
    (y - pad + i + dy_k, x - pad + j + dx_k), each neighbour outside the image adding 0."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    out_h, out_w = offset.shape[2:]
    k = kh * kw
    points = torch.arange(k)
    row = (points // kw).to(x.dtype).view(1, k, 1, 1) - padding
    col = (points % kw).to(x.dtype).view(1, k, 1, 1) - padding
    pairs = offset.reshape(n, k, 2, out_h, out_w)
    ys = torch.arange(out_h, dtype=x.dtype).view(1, 1, out_h, 1) + row + pairs[:, :, 0]
    xs = torch.arange(out_w, dtype=x.dtype).view(1, 1, 1, out_w) + col + pairs[:, :, 1]
    # align_corners=True: -1 and 1 are the centres of the first and last pixels.
    grid = torch.stack((xs * (2.0 / (w - 1)) - 1.0, ys * (2.0 / (h - 1)) - 1.0), dim=-1)
    sampled = F.grid_sample(x, grid.reshape(n, k * out_h, out_w, 2), mode="bilinear",
                            padding_mode="zeros", align_corners=True)  # (n, c, k*Ho, Wo)
    cols = sampled.reshape(n, c, k, out_h * out_w) * mask.reshape(n, 1, k, out_h * out_w)
    out = torch.matmul(weight.reshape(out_ch, c * k), cols.reshape(n, c * k, out_h * out_w))
    return (out + bias.view(1, out_ch, 1)).reshape(n, out_ch, out_h, out_w)


def swap_ops(torch_ref, reference, dcn_op, roi_op) -> None:
    for module in reference.modules():
        if isinstance(module, torch_ref.DCN):
            module.deform_op = dcn_op
    reference.roi_align_op = roi_op


# ----------------------------------------------------------------------------------------------
# The torch worker: all PyTorch contenders, served call by call.


def torch_worker(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    hw = benchlib.parse_hw(args.input_size)
    torch_ref, reference, image, box = build_reference(hw)
    dcn_op, roi_op, dcn_name, tv_error = compiled_ops()

    with torch.no_grad():
        kernels = reference.encode_template(image, [[box]])  # gather RoIAlign: the reference
    contenders, outputs, info = {}, {}, {"dcn_op": dcn_name, "torchvision_error": tv_error,
                                         "roi_align_op": "torchvision.ops.roi_align" if roi_op
                                         else "reference (gathers; encode_template only)"}

    def plain():
        with torch.no_grad():
            return reference.detect(image, kernels)

    contenders["gather"] = plain
    outputs["gather"] = plain()

    fast = build_reference(hw)[1]  # an identical second copy (fixed seeds) with compiled ops
    swap_ops(torch_ref, fast, dcn_op, roi_op)
    with torch.inference_mode():
        fast_kernels = fast.encode_template(image, [[box]])
    info["kernels_max_relative_error"] = max(
        relative_error(fast_kernels[k].numpy(), kernels[k].numpy()) for k in kernels)

    def compiled():
        with torch.inference_mode():
            return fast.detect(image, fast_kernels)

    contenders["compiled"] = compiled
    outputs["compiled"] = compiled()

    fast_cl = build_reference(hw)[1]
    swap_ops(torch_ref, fast_cl, dcn_op, roi_op)
    fast_cl = fast_cl.to(memory_format=torch.channels_last)
    image_cl = image.contiguous(memory_format=torch.channels_last)

    def compiled_cl():
        with torch.inference_mode():
            return fast_cl.detect(image_cl, fast_kernels)

    contenders["compiled_cl"] = compiled_cl
    outputs["compiled_cl"] = compiled_cl()

    # torch.compile on the faster layout (3 quick calls each to choose).
    quick = {name: min(_time(contenders[name]) for _ in range(3))
             for name in ("compiled", "compiled_cl")}
    info["layout_choice_s"] = quick
    base = "compiled_cl" if quick["compiled_cl"] < quick["compiled"] else "compiled"
    model, x = (fast_cl, image_cl) if base == "compiled_cl" else (fast, image)
    info["torch_compile_layout"] = base
    try:
        start = time.perf_counter()
        detect_tc = torch.compile(model.detect)
        with torch.inference_mode():
            outputs["compiled_tc"] = detect_tc(x, fast_kernels)
        info["torch_compile_first_call_s"] = round(time.perf_counter() - start, 2)

        def compiled_tc():
            with torch.inference_mode():
                return detect_tc(x, fast_kernels)

        contenders["compiled_tc"] = compiled_tc
        info["torch_compile"] = "ok"
    except Exception as err:  # noqa: BLE001 - report either way
        info["torch_compile"] = f"failed: {type(err).__name__}: {str(err)[:500]}"
        traceback.print_exc(file=sys.stderr)

    np.savez(args.torch_worker, **{f"{name}/{key}{level}": value.float().contiguous().numpy()
                                   for name, out in outputs.items()
                                   for key, levels in out.items()
                                   for level, value in enumerate(levels)})
    print(json.dumps({"contenders": list(contenders), **info}), flush=True)
    for line in sys.stdin:
        command, _, name = line.strip().partition(" ")
        if command == "run":
            print(_time(contenders[name]), flush=True)
        elif command == "parts":  # cumulative prefixes of the faster eager compiled-op model
            m, xx = (fast_cl, image_cl) if base == "compiled_cl" else (fast, image)
            calls = {"trunk": lambda: m.backbone.base(xx), "backbone": lambda: m.backbone(xx),
                     "features": lambda: m.features(xx),
                     "detect": lambda: m.detect(xx, fast_kernels)}
            with torch.inference_mode():
                print(json.dumps({k: _time(c) for k, c in calls.items()}), flush=True)
        elif command == "dcn":  # share of one call spent in the deformable convs
            print(json.dumps({n: dcn_share(torch_ref, contenders[n]) for n in name.split(",")}),
                  flush=True)
        else:
            return


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dcn_share(torch_ref, fn) -> float:
    """Fraction of one call spent in DCN.forward (offset conv + deformable conv), eager only."""
    original = torch_ref.DCN.forward
    spent = []

    def timed(self, x):
        start = time.perf_counter()
        out = original(self, x)
        spent.append(time.perf_counter() - start)
        return out

    torch_ref.DCN.forward = timed
    try:
        total = _time(fn)
    finally:
        torch_ref.DCN.forward = original
    return sum(spent) / total


class Worker(benchlib.LineWorker):
    def __init__(self, args, outputs_path: str):
        super().__init__([sys.executable, __file__, "--torch-worker", outputs_path,
                          "--input-size", args.input_size, "--threads", str(args.threads)])


# ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per contender")
    parser.add_argument("--input-size", default="512,736", help="H,W (multiple of 32)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--parts-repeats", type=int, default=3,
                        help="per-part timing repeats (0: skip)")
    parser.add_argument("--no-write", action="store_true", help="rehearsal: write no result")
    parser.add_argument("--torch-worker", default="", metavar="NPZ", help="(internal)")
    benchlib.add_conv_algorithm_arg(parser)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        outputs_path = os.path.join(tmp, "torch_outputs.npz")
        worker = Worker(args, outputs_path)  # its torch work precedes any XLA
        try:
            result = compare(args, worker, dict(np.load(outputs_path)))
        finally:
            worker.close()
    report(args, result)
    if not args.no_write:
        path = benchlib.write_result("torch_compiled_vs_jax", result)
        benchlib.append_history("torch_compiled_vs_jax_history", {
            k: result[k] for k in ("median_s", "ratio_jax_over", "loadavg_start_end",
                                   "dcn_op", "torch_compile", "torch_compile_layout",
                                   "dcn_share")}
            | {"date": result["machine"]["date"], "repeats": args.repeats})
        print(f"wrote {path}")


def compare(args, worker: Worker, torch_outputs: dict) -> dict:

    hw = benchlib.parse_hw(args.input_size)
    torch_ref, reference, image, box = build_reference(hw)
    jax_side = JaxDetect(torch_ref, reference, image, box, args.conv_algorithm)
    run_jax = jax_side.run
    config, model, variables = jax_side.config, jax_side.model, jax_side.variables
    image_nhwc, kernels = jax_side.image_nhwc, jax_side.kernels

    start = time.perf_counter()
    jax_out = run_jax()
    jax_compile_s = time.perf_counter() - start

    contenders = worker.info["contenders"]
    errors = {}
    for name in contenders:
        errors[name] = {key: max(relative_error(
            jax_out[key][level], np.moveaxis(torch_outputs[f"{name}/{key}{level}"], -3, -1))
            for level in range(len(jax_out[key]))) for key in ("cls", "reg", "ctr")}
    print(f"parity (max relative error vs JAX, tolerance {TOLERANCE}): "
          + ", ".join(f"{n} {max(e.values()):.1e}" for n, e in errors.items()), flush=True)
    bad = {n: e for n, e in errors.items() if max(e.values()) > TOLERANCE}
    if bad:
        raise RuntimeError(f"outputs disagree with JAX beyond {TOLERANCE}: {bad}; the timing "
                           f"would compare different functions")

    # Untimed warm-up calls after the checks: torch.compile's first calls after compiling are
    # seconds slower than its steady state (measured in rehearsal), so it gets more.
    warmup_s = {name: [round(float(worker.ask(f"run {name}")), 3)
                       for _ in range(WARMUP_TC if name == "compiled_tc" else 1)]
                for name in contenders}
    load_start = benchlib.loadavg()
    times = {"jax": [], **{name: [] for name in contenders}}
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_jax()
        times["jax"].append(time.perf_counter() - start)
        time.sleep(PAUSE_S)
        for name in contenders:
            times[name].append(float(worker.ask(f"run {name}")))
            time.sleep(PAUSE_S)
    load_end = benchlib.loadavg()
    shares = json.loads(worker.ask("dcn gather,compiled,compiled_cl"))
    parts = time_parts(args, worker, model, variables, image_nhwc, kernels, config)

    summary = {name: benchlib.summarize(t) for name, t in times.items()}
    median = {name: s["median_s"] for name, s in summary.items()}
    best_torch = min((n for n in contenders), key=lambda n: median[n])
    return {
        "config": "dmtrack_gs_official (detect = the paper config's detect network)",
        "input_hw": hw, "torch_threads": args.threads, "conv_algorithm": args.conv_algorithm,
        "dcn_op": worker.info["dcn_op"], "roi_align_op": worker.info["roi_align_op"],
        "torchvision_error": worker.info["torchvision_error"],
        "torch_compile": worker.info["torch_compile"],
        "torch_compile_first_call_s": worker.info.get("torch_compile_first_call_s"),
        "torch_compile_layout": worker.info.get("torch_compile_layout"),
        "layout_choice_s": worker.info.get("layout_choice_s"),
        "kernels_max_relative_error": worker.info["kernels_max_relative_error"],
        "max_relative_error": errors, "tolerance": TOLERANCE,
        "jax_compile_s": round(jax_compile_s, 2), "torch_warmup_s": warmup_s,
        "median_s": median, "min_s": {n: s["min_s"] for n, s in summary.items()},
        "ratio_jax_over": {n: median[n] / median["jax"] for n in contenders},
        "strongest_torch": best_torch,
        "ratio_jax_over_strongest_torch": median[best_torch] / median["jax"],
        "dcn_share": shares, "parts": parts,
        "loadavg_start_end": [load_start, load_end],
        "raw": summary, "machine": benchlib.machine(),
    }


def time_parts(args, worker, model, variables, x, kernels, config) -> dict:
    """Per-part seconds (differences of cumulative prefixes: trunk, + DLA-up, + FPN, + head),
    JAX vs the eager compiled-op torch model (its faster layout), calls alternating, medians
    of --parts-repeats (each part difference carries the noise of two medians)."""
    import jax


    if args.parts_repeats <= 0:
        return {}
    trunk_module, trunk_variables = jax_trunk(model, config, variables)
    jitted = {
        "trunk": (jax.jit(lambda v, a: trunk_module.apply(v, a, False)), (trunk_variables, x)),
        "backbone": (jax.jit(lambda v, a: model.apply(
            v, a, False, method=lambda m, i, t: m.backbone(i, t))), (variables, x)),
        "features": (jax.jit(lambda v, a: model.apply(
            v, a, False, method=lambda m, i, t: m._features(i, t))), (variables, x)),
        "detect": (jax.jit(lambda v, a, k: model.apply(v, a, k, method=model.detect)),
                   (variables, x, kernels)),
    }
    for fn, inputs in jitted.values():
        jax.block_until_ready(fn(*inputs))  # compile
    worker.ask("parts")  # warm-up
    jax_t = {name: [] for name in jitted}
    torch_t = {name: [] for name in jitted}
    for _ in range(args.parts_repeats):
        for name, (fn, inputs) in jitted.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(*inputs))
            jax_t[name].append(time.perf_counter() - start)
        time.sleep(PAUSE_S)
        for name, value in json.loads(worker.ask("parts")).items():
            torch_t[name].append(value)
        time.sleep(PAUSE_S)

    def split(times):
        m = {k: float(np.median(v)) for k, v in times.items()}
        return {"trunk_dla34": m["trunk"], "dla_up_with_dcn": m["backbone"] - m["trunk"],
                "fpn": m["features"] - m["backbone"], "dynamic_head": m["detect"] - m["features"],
                "total": m["detect"]}

    return {"jax_s": split(jax_t), "torch_compiled_ops_s": split(torch_t),
            "raw": {"jax": jax_t, "torch": torch_t}}


def report(args, result: dict) -> None:
    hw = result["input_hw"]
    print(f"DMTrack detect at {hw[0]}x{hw[1]}, {args.repeats} alternating runs, load "
          f"{result['loadavg_start_end']}; DCN op: {result['dcn_op']}; torch.compile: "
          f"{result['torch_compile']}")
    print(f"  jax jit: {result['median_s']['jax']:.3f} s median "
          f"(compile {result['jax_compile_s']} s)")
    for name, ratio in result["ratio_jax_over"].items():
        print(f"  torch {name:12s}: {result['median_s'][name]:.3f} s median "
              f"({result['min_s'][name]:.3f} best); JAX/torch frames/s {ratio:.2f}")
    if result["parts"]:
        jp, tp = result["parts"]["jax_s"], result["parts"]["torch_compiled_ops_s"]
        print("  parts (s, medians; JAX vs eager compiled-op torch): " + ", ".join(
            f"{k} {jp[k]:.3f} vs {tp[k]:.3f}" for k in jp))
    print("  torch time share in DCN layers: "
          + ", ".join(f"{n} {s:.1%}" for n, s in result["dcn_share"].items()))


if __name__ == "__main__":
    main()
