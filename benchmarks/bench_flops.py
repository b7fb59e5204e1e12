"""FLOPs per frame of the tracking network step and the fraction of this machine's measured
matrix/conv throughput it achieves (issue 9, item 6).

    python benchmarks/bench_flops.py [--config dmtrack_dla34] [--repeats 3]

FLOPs two ways, which must roughly agree:
  * XLA's cost analysis of the compiled step (`jit(f).lower(...).compile().cost_analysis()`):
    every HLO op, elementwise included, as XLA counts them;
  * a count of the traced program's convolutions and matrix products (2 x multiply-adds, from
    the jaxpr shapes): the "FLOPs" convention of detection papers.
Peak: the best of a few runs of a large float32 matmul and of a 3x3 convolution of the size of
the model's stride-8 head convs, in JAX on this machine (measured, not a datasheet figure).
Achieved fraction = (conv+matmul FLOPs per frame / network step time) / measured peak.
With Winograd head convs (`--conv-algorithm`, 'auto' picks them on CPU) the program executes
fewer multiplications than the model's convolutions define: both counts are reported. The
model FLOPs (direct convolution, the papers' convention) give the effective GFLOP/s; the
executed ones give the fraction of the machine's peak actually used.
Writes benchmarks/results/flops_<config>.json.
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import benchlib
from dmtrack_jax.models import build_model, init_variables
from dmtrack_jax.tracking.network import NetworkStep, canvas_size


def _subjaxprs(params):
    """(jaxpr, multiplicity) of the sub-programs of one equation (pjit, custom_jvp, scan...)."""
    for value in params.values():
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            if hasattr(v, "eqns"):
                yield v
            elif hasattr(v, "jaxpr") and hasattr(v.jaxpr, "eqns"):
                yield v.jaxpr


def matmul_conv_flops(jaxpr) -> dict[str, float]:
    """2 x multiply-adds of every conv_general_dilated and dot_general of a jaxpr (recursive;
    scan bodies x length; of `cond` branches the most expensive)."""
    totals = {"conv": 0.0, "dot": 0.0}
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "conv_general_dilated":
            out_shape = eqn.outvars[0].aval.shape
            rhs_shape = eqn.invars[1].aval.shape
            rhs_spec = eqn.params["dimension_numbers"].rhs_spec  # (out, in, spatial...)
            kernel_in = rhs_shape[rhs_spec[1]]
            kernel_spatial = math.prod(rhs_shape[d] for d in rhs_spec[2:])
            # Each output element: kernel_in * spatial multiply-adds (grouped convs: rhs already
            # holds C_in / groups input channels).
            totals["conv"] += 2.0 * math.prod(out_shape) * kernel_in * kernel_spatial
        elif name == "dot_general":
            (lhs_contract, _), _ = eqn.params["dimension_numbers"]
            lhs_shape = eqn.invars[0].aval.shape
            contract = math.prod(lhs_shape[d] for d in lhs_contract)
            totals["dot"] += 2.0 * math.prod(eqn.outvars[0].aval.shape) * contract
        subs = list(_subjaxprs(eqn.params))
        if name == "cond":
            costs = [matmul_conv_flops(s) for s in subs]
            if costs:
                best = max(costs, key=lambda c: c["conv"] + c["dot"])
                for k in totals:
                    totals[k] += best[k]
            continue
        times = float(eqn.params.get("length", 1)) if name == "scan" else 1.0
        for sub in subs:
            for k, v in matmul_conv_flops(sub).items():
                totals[k] += times * v
    return totals


def xla_flops(compiled) -> float:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan"))) if cost else float("nan")


def self_check() -> None:
    """The counter against hand-worked cases (and XLA on the same programs)."""
    x = jnp.zeros((1, 10, 12, 6))
    w = jnp.zeros((3, 3, 6, 8))
    conv = lambda a, b: jax.lax.conv_general_dilated(  # noqa: E731
        a, b, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    expected = 2.0 * (10 * 12 * 8) * (3 * 3 * 6)
    got = matmul_conv_flops(jax.make_jaxpr(conv)(x, w).jaxpr)["conv"]
    assert got == expected, (got, expected)
    a, b = jnp.zeros((5, 7)), jnp.zeros((7, 9))
    got = matmul_conv_flops(jax.make_jaxpr(lambda p, q: jax.vmap(jnp.dot, (None, 1), 1)(p, q))
                            (a, b).jaxpr)["dot"]
    assert got == 2.0 * 5 * 7 * 9, got


def module_breakdown(model, variables, canvases, kernels) -> dict[str, float]:
    """GFLOP (conv + matmul) of the forward's parts, by differences of traced sub-programs:
    DLA-34 trunk + DLA-up, FPN, dynamic-conv head, re-id head."""
    def count(fn, *inputs):
        totals = matmul_conv_flops(jax.make_jaxpr(fn)(variables, *inputs).jaxpr)
        return (totals["conv"] + totals["dot"]) / 1e9

    backbone = count(lambda v, x: model.apply(v, x, False, method=lambda m, a, t:
                                              m.backbone(a, t)), canvases)
    features = count(lambda v, x: model.apply(v, x, False, method=lambda m, a, t:
                                              m._features(a, t)), canvases)
    detect = count(lambda v, x, k: model.apply(v, x, k, method=model.detect), canvases, kernels)
    parts = {"backbone_dla34_dlaup": backbone, "fpn": features - backbone,
             "dynamic_head": detect - features}
    if model.reid_dim > 0:
        with_reid = count(lambda v, x, k: model.apply(v, x, k, method=model.detect,
                                                      with_embeddings=True), canvases, kernels)
        parts["reid_head"] = with_reid - detect
    return parts


def measure_peak(repeats: int, head_hw, channels: int) -> dict:
    """GFLOP/s of a 2048^3 float32 matmul and of a 3x3 conv (channels -> channels, head_hw)."""
    results = {}
    n = 2048
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    matmul = jax.jit(lambda p, q: p @ q)
    matmul(a, a).block_until_ready()
    timing = benchlib.repeat(lambda: matmul(a, a).block_until_ready(), repeats)
    flops = 2.0 * n ** 3
    results["matmul_2048"] = {"gflop": flops / 1e9,
                              "gflops_best": flops / timing["min_s"] / 1e9,
                              "gflops_median": flops / timing["median_s"] / 1e9}
    h, w = head_hw
    x = jnp.asarray(np.random.default_rng(1).normal(size=(1, h, w, channels)), jnp.float32)
    k = jnp.asarray(np.random.default_rng(2).normal(size=(3, 3, channels, channels)),
                    jnp.float32) * 0.01
    conv = jax.jit(lambda p, q: jax.lax.conv_general_dilated(
        p, q, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
    conv(x, k).block_until_ready()
    timing = benchlib.repeat(lambda: conv(x, k).block_until_ready(), repeats)
    flops = 2.0 * h * w * channels * channels * 9
    results[f"conv3x3_{channels}ch_{h}x{w}"] = {
        "gflop": flops / 1e9, "gflops_best": flops / timing["min_s"] / 1e9,
        "gflops_median": flops / timing["median_s"] / 1e9}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="dmtrack_dla34")
    benchlib.add_conv_algorithm_arg(parser)
    parser.add_argument("--repeats", type=int, default=3, help="timed network steps")
    parser.add_argument("--peak-repeats", type=int, default=5)
    parser.add_argument("--input-size", default="", help="H,W (default: the config's "
                        "tracker.input_size; 512,736 for the paper config)")
    args = parser.parse_args()
    self_check()

    config = benchlib.load_config(args.config)
    if args.input_size:
        config.tracker.input_size = benchlib.parse_hw(args.input_size)
    config.model.conv_algorithm = "direct"  # the model's FLOPs: direct convolutions
    direct_model = build_model(config.model)
    config.model.conv_algorithm = args.conv_algorithm
    model = build_model(config.model)
    hw = canvas_size(config.tracker.input_size)
    variables = jax.jit(lambda r: init_variables(model, r, (64, 64)))(jax.random.PRNGKey(0))
    direct_step = NetworkStep(direct_model, variables, config.tracker)
    step = NetworkStep(model, variables, config.tracker)
    rng = np.random.default_rng(0)
    canvases = jnp.asarray(rng.normal(size=(1, *hw, 3)), jnp.float32)
    boxes = jnp.asarray([[hw[1] * 0.4, hw[0] * 0.4, hw[1] * 0.6, hw[0] * 0.6]], jnp.float32)

    encode_count = matmul_conv_flops(
        jax.make_jaxpr(direct_step._encode_fn)(variables, canvases, boxes).jaxpr)
    kernels, _ = step._encode(variables, canvases, boxes)
    detect_count = matmul_conv_flops(
        jax.make_jaxpr(direct_step._detect_fn)(variables, canvases, kernels).jaxpr)
    executed_count = matmul_conv_flops(
        jax.make_jaxpr(step._detect_fn)(variables, canvases, kernels).jaxpr)
    breakdown = module_breakdown(direct_model, variables, canvases, kernels)
    start = time.perf_counter()
    compiled = jax.jit(step._detect_fn).lower(variables, canvases, kernels).compile()
    compile_s = time.perf_counter() - start
    detect_xla = xla_flops(compiled)
    jax.block_until_ready(compiled(variables, canvases, kernels))
    load_start = benchlib.loadavg()
    timing = benchlib.repeat(
        lambda: jax.block_until_ready(compiled(variables, canvases, kernels)), args.repeats)
    peak = measure_peak(args.peak_repeats, (hw[0] // 8, hw[1] // 8),
                        int(config.model.head_channels))
    load_end = benchlib.loadavg()

    counted = detect_count["conv"] + detect_count["dot"]
    executed = executed_count["conv"] + executed_count["dot"]
    best_peak = max(v["gflops_best"] for v in peak.values())
    achieved_median = executed / timing["median_s"] / 1e9
    achieved_best = executed / timing["min_s"] / 1e9
    result = {
        "config": args.config, "canvas_hw": hw, "conv_algorithm": args.conv_algorithm,
        "detect_gflop_executed_conv_dot": executed / 1e9,
        "effective_gflops_median": counted / timing["median_s"] / 1e9,
        "detect_gflop_conv_dot": counted / 1e9,
        "detect_gflop_conv": detect_count["conv"] / 1e9,
        "detect_gflop_dot": detect_count["dot"] / 1e9,
        "detect_gflop_xla_cost_analysis": detect_xla / 1e9,
        "detect_gflop_by_module": breakdown,
        "encode_gflop_conv_dot": (encode_count["conv"] + encode_count["dot"]) / 1e9,
        "detect_compile_s": round(compile_s, 2),
        "detect_s_median": timing["median_s"], "detect_s_min": timing["min_s"],
        "achieved_gflops_median": achieved_median, "achieved_gflops_best": achieved_best,
        "peak": peak, "peak_gflops_best": best_peak,
        "fraction_of_peak_median": achieved_median / best_peak,
        "fraction_of_peak_best": achieved_best / best_peak,
        "loadavg_start_end": [load_start, load_end], "raw": timing,
        "machine": benchlib.machine(),
    }
    name = f"flops_{args.config}_{hw[0]}x{hw[1]}"
    if args.conv_algorithm != "auto":
        name += f"_{args.conv_algorithm}"
    path = benchlib.write_result(name, result)
    print(f"{args.config} network step at {hw[0]}x{hw[1]}:")
    print(f"  conv+matmul {counted / 1e9:.1f} GFLOP (conv {detect_count['conv'] / 1e9:.1f}, "
          f"dot {detect_count['dot'] / 1e9:.2f}); XLA cost analysis {detect_xla / 1e9:.1f} GFLOP; "
          f"encode (once per sequence) {result['encode_gflop_conv_dot']:.1f} GFLOP")
    print("  by module (GFLOP): " + ", ".join(f"{k} {v:.1f}" for k, v in breakdown.items()))
    print(f"  executed (conv_algorithm {args.conv_algorithm}): {executed / 1e9:.1f} GFLOP")
    print(f"  step {timing['median_s']:.3f} s median ({timing['min_s']:.3f} best) -> executed "
          f"{achieved_median:.1f} GFLOP/s ({achieved_best:.1f} best), effective (model FLOPs) "
          f"{result['effective_gflops_median']:.1f} GFLOP/s")
    for name, v in peak.items():
        print(f"  peak {name}: {v['gflops_best']:.1f} GFLOP/s best, {v['gflops_median']:.1f} "
              f"median")
    print(f"  fraction of measured peak: {achieved_median / best_peak:.1%} median, "
          f"{achieved_best / best_peak:.1%} best; load {load_start} -> {load_end}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
