"""The DLA-up's six modulated deformable convs alone, JAX vs PyTorch's compiled-op DCN
(issue 21: which layers put JAX behind the compiled-op baseline).

    python benchmarks/bench_dcn_layers.py [--rounds 3] [--repeats 5]

Shapes: the paper network's DLA-up at a 736x512 input (input H x W, Cin -> Cout). Timed: the
deformable conv proper (bilinear sampling of the 9 kernel points, mask, one matmul, bias) on
random inputs, offsets (std 1 px) and masks; and, apart, each layer's offset conv (a plain
3x3 conv Cin -> 27: XLA's conv vs torch's F.conv2d). JAX: `ops.deform_conv2d`
(jit, NHWC, four gathers). PyTorch: `bench_torch_compiled.grid_sample_deform_conv` (NCHW,
F.grid_sample + matmul, 2 threads, inference_mode). Each side runs in its own subprocess (XLA
and torch thread pools never share a process); the sides alternate process by process for
--rounds rounds, so a load change hits both. Outputs of the two agree (checked on the first
round, relative error <= 1e-4). Writes benchmarks/results/dcn_layers.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

import benchlib

# (H, W, Cin, Cout), in DLA-up order: ida_0 proj, node; ida_1 proj_1, node_1, proj_2, node_2.
SHAPES = [(16, 23, 512, 256), (32, 46, 256, 256), (32, 46, 256, 128), (64, 92, 128, 128),
          (32, 46, 256, 128), (64, 92, 128, 128)]


def inputs(shape, seed):
    h, w, cin, cout = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, cin, h, w), np.float32)
    offset = rng.standard_normal((1, 18, h, w), np.float32)
    mask = rng.uniform(0, 1, (1, 9, h, w)).astype(np.float32)
    weight = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32) * 0.1
    return x, offset, mask, weight, bias


def offset_conv_weight(shape, seed):
    cin = shape[2]
    rng = np.random.default_rng(100 + seed)
    return (rng.standard_normal((27, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32)


def side(name: str, repeats: int, threads: int) -> dict:
    times, outputs = [], []
    if name == "torch":
        import torch

        from bench_torch_compiled import grid_sample_deform_conv

        torch.set_num_threads(threads)
        for i, shape in enumerate(SHAPES):
            args = [torch.from_numpy(a) for a in inputs(shape, i)]
            with torch.inference_mode():
                out = grid_sample_deform_conv(*args)
                t = benchlib.repeat(lambda: grid_sample_deform_conv(*args), repeats, warmup=1)
            times.append(t["median_s"])
            outputs.append(out.numpy())
        for i, shape in enumerate(SHAPES):  # the offset convs (Cin -> 27, 3x3, bias)
            x = torch.from_numpy(inputs(shape, i)[0])
            w = torch.from_numpy(offset_conv_weight(shape, i))
            with torch.inference_mode():
                t = benchlib.repeat(lambda: torch.nn.functional.conv2d(x, w, padding=1),
                                    repeats, warmup=1)
            times.append(t["median_s"])
    else:
        import jax
        import jax.numpy as jnp

        from dmtrack_jax.ops.deform_conv import deform_conv2d

        fn = jax.jit(lambda x, o, m, k, b: deform_conv2d(x, o, m, k) + b)
        for i, shape in enumerate(SHAPES):
            x, offset, mask, weight, bias = inputs(shape, i)
            args = (jnp.asarray(x.transpose(0, 2, 3, 1)), jnp.asarray(offset.transpose(0, 2, 3, 1)),
                    jnp.asarray(mask.transpose(0, 2, 3, 1)),
                    jnp.asarray(weight.transpose(2, 3, 1, 0)), jnp.asarray(bias))
            out = jax.block_until_ready(fn(*args))
            t = benchlib.repeat(lambda: jax.block_until_ready(fn(*args)), repeats, warmup=1)
            times.append(t["median_s"])
            outputs.append(np.asarray(out).transpose(0, 3, 1, 2))
        conv = jax.jit(lambda x, w: jax.lax.conv_general_dilated(
            x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
        for i, shape in enumerate(SHAPES):  # the offset convs (Cin -> 27, 3x3), as flax's Conv
            x = jnp.asarray(inputs(shape, i)[0].transpose(0, 2, 3, 1))
            w = jnp.asarray(offset_conv_weight(shape, i).transpose(2, 3, 1, 0))
            jax.block_until_ready(conv(x, w))
            t = benchlib.repeat(lambda: jax.block_until_ready(conv(x, w)), repeats, warmup=1)
            times.append(t["median_s"])
    return {"times": times, "outputs": outputs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--side", default="", help="(internal) torch or jax; prints JSON")
    parser.add_argument("--out", default="", help="(internal) npz for the outputs")
    args = parser.parse_args()
    if args.side:
        result = side(args.side, args.repeats, args.threads)
        if args.out:
            np.savez(args.out, *result["outputs"])
        print(json.dumps(result["times"]))
        return

    import tempfile

    load_start = benchlib.loadavg()
    times = {"jax": [], "torch": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in ("jax", "torch"):
                out = f"{tmp}/{name}.npz" if r == 0 else ""
                line = subprocess.run(
                    [sys.executable, __file__, "--side", name, "--repeats", str(args.repeats),
                     "--threads", str(args.threads), "--out", out],
                    check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                times[name].append(json.loads(line))
                time.sleep(0.5)
            if r == 0:
                a, b = np.load(f"{tmp}/jax.npz"), np.load(f"{tmp}/torch.npz")
                errors = [float(np.abs(a[k] - b[k]).max() / np.abs(b[k]).max()) for k in a.files]
                print(f"outputs agree to {max(errors):.1e} relative", flush=True)
                if max(errors) > 1e-4:
                    raise RuntimeError(f"JAX and torch DCNs disagree: {errors}")
    load_end = benchlib.loadavg()
    med = {n: np.median(np.asarray(t), axis=0).tolist() for n, t in times.items()}
    n = len(SHAPES)
    rows = [{"layer": "deform conv" if i < n else "offset conv (Cin -> 27)",
             "shape_hwio": SHAPES[i % n] if i < n else SHAPES[i % n][:3] + (27,),
             "jax_ms": 1e3 * j, "torch_ms": 1e3 * t, "jax_over_torch_time": j / t}
            for i, (j, t) in enumerate(zip(med["jax"], med["torch"]))]
    result = {"rows": rows, "total_jax_ms": 1e3 * sum(med["jax"]),
              "total_torch_ms": 1e3 * sum(med["torch"]), "max_relative_error": max(errors),
              "loadavg_start_end": [load_start, load_end], "rounds": args.rounds,
              "repeats": args.repeats, "raw": times, "machine": benchlib.machine()}
    print(f"DLA-up DCNs at 736x512, medians over {args.rounds} alternating rounds, load "
          f"{load_start} -> {load_end}")
    for row in rows:
        print(f"  {row['layer']} {row['shape_hwio']}: JAX {row['jax_ms']:.1f} ms, torch "
              f"{row['torch_ms']:.1f} ms ({row['jax_over_torch_time']:.2f}x)")
    print(f"  total: JAX {result['total_jax_ms']:.1f} ms, torch {result['total_torch_ms']:.1f} ms")
    print(f"wrote {benchlib.write_result('dcn_layers', result)}")


if __name__ == "__main__":
    main()
