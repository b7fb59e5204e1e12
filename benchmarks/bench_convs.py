"""The two layer rewrites of section 7, timed at the paper network's shapes on this CPU:

    python benchmarks/bench_convs.py [--repeats 15]

1. DLA-up upsampling (`layers.DepthwiseUpsample`): PyTorch's depthwise ConvTranspose2d written
   as XLA's grouped convolution of the stride-dilated input (the old form) vs the polyphase
   form now in the model.
2. 3x3 stride-1 convolution: XLA's convolution vs `ops.winograd.conv3x3_winograd`, at the
   trunk's, FPN's and head's (H, W, C) for a 736x512 input, and at several band sizes.

Variants of one shape are timed round robin (so a load change hits all alike); medians are
reported, and the outputs of each pair are compared. Writes benchmarks/results/convs.json.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import benchlib
from dmtrack_jax.models.layers import DepthwiseUpsample
from dmtrack_jax.ops.winograd import conv3x3_winograd


def grouped_transposed_conv(x, kernel, factor):
    """The old DepthwiseUpsample: dilate by the stride, pad k - 1 - p, flipped kernel."""
    k, p = 2 * factor, factor // 2
    return jax.lax.conv_general_dilated(
        x, jnp.flip(kernel, axis=(0, 1)), (1, 1), ((k - 1 - p, k - 1 - p),) * 2,
        lhs_dilation=(factor, factor), dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=x.shape[-1])


def direct_conv(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def round_robin(functions: dict, args, repeats: int) -> dict:
    compiled = {name: jax.jit(f) for name, f in functions.items()}
    outputs = {name: np.asarray(jax.block_until_ready(f(*args))) for name, f in compiled.items()}
    times = {name: [] for name in compiled}
    for _ in range(repeats):
        for name, f in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - start)
    first = next(iter(outputs.values()))
    scale = float(np.abs(first).max()) or 1.0
    return {name: {"ms_median": 1e3 * float(np.median(t)), "ms_min": 1e3 * float(np.min(t)),
                   "max_rel_diff_to_first": float(np.abs(outputs[name] - first).max() / scale)}
            for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    load_start = benchlib.loadavg()
    rows = []
    # The DLA-up's three upsamplings for a 736x512 input (ida_0 up_1, ida_1 up_1 and up_2).
    for channels, h, w in ((256, 16, 23), (128, 32, 46)):
        x = jnp.asarray(rng.normal(size=(1, h, w, channels)), jnp.float32)
        module = DepthwiseUpsample(2)
        variables = module.init(jax.random.PRNGKey(0), x)
        result = round_robin({
            "grouped_transposed_conv": lambda v, a: grouped_transposed_conv(
                a, v["params"]["kernel"], 2),
            "polyphase": module.apply}, (variables, x), args.repeats)
        rows.append({"op": "upsample x2", "hwc": [h, w, channels], **result})
    # 3x3 convs: trunk level 3 (128 ch), level 4 (256), level 5 (512); FPN/head at 3 levels.
    for h, w, channels in ((64, 92, 128), (32, 46, 256), (16, 23, 512), (64, 92, 256),
                           (16, 23, 256)):
        x = jnp.asarray(rng.normal(size=(1, h, w, channels)), jnp.float32)
        kernel = jnp.asarray(rng.normal(size=(3, 3, channels, channels)) * 0.02, jnp.float32)
        functions = {"direct": direct_conv, "winograd (default band)": conv3x3_winograd}
        for tiles in (96, 384, 100_000):
            functions[f"winograd, {tiles} tiles per band"] = (
                lambda a, b, t=tiles: conv3x3_winograd(a, b, t))
        result = round_robin(functions, (x, kernel), args.repeats)
        rows.append({"op": "conv3x3", "hwc": [h, w, channels], **result})
    load_end = benchlib.loadavg()
    for row in rows:
        print(f"{row['op']} {row['hwc']}:")
        for name, r in row.items():
            if isinstance(r, dict):
                print(f"  {name:34s} {r['ms_median']:7.2f} ms median ({r['ms_min']:.2f} best), "
                      f"max diff to the first {r['max_rel_diff_to_first']:.1e}")
    path = benchlib.write_result("convs", {"rows": rows, "repeats": args.repeats,
                                           "loadavg_start_end": [load_start, load_end],
                                           "machine": benchlib.machine()})
    print(f"load {load_start} -> {load_end}; wrote {path}")


if __name__ == "__main__":
    main()
