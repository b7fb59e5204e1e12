"""Where the network step's time goes, JAX vs the PyTorch reference, part by part (issue 9,
item 5: what dominates the difference).

    python benchmarks/bench_breakdown.py [--repeats 3] [--input-size 512,736]

Same model, weights and input as bench_torch_vs_jax.py (the released DMTrack-GS architecture,
random weights converted from the torch reference). Times, on each side, the cumulative
prefixes of the forward: DLA-34 trunk, + DLA-up (with its 6 deformable convs), + FPN
(`features`), + dynamic-conv head (`detect`); the parts are the differences of the medians.
All eight calls are timed round robin in one process, so a change of the shared machine's
load hits every part alike. Also: the torch time inside its deformable convs (measured before
any XLA work in the process). Differences of medians carry the run-to-run noise of both terms
(tens of ms on a shared machine); the same split from the best repeats is given next to it.
Writes benchmarks/results/breakdown.json.
"""

from __future__ import annotations

import argparse
import time



import benchlib
from bench_torch_vs_jax import build_reference, jax_trunk, torch_dcn_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--input-size", default="512,736")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    benchlib.add_conv_algorithm_arg(parser)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    hw = benchlib.parse_hw(args.input_size)
    torch_ref, reference, image, box = build_reference(hw)
    with torch.no_grad():
        kernels = reference.encode_template(image, [[box]])
        reference.detect(image, kernels)  # warm-up before any XLA work in this process
    dcn_share = torch_dcn_share(torch_ref, reference, image, kernels)

    def no_grad(fn):
        def call():
            with torch.no_grad():
                fn()
        return call

    torch_calls = {
        "trunk": no_grad(lambda: reference.backbone.base(image)),
        "backbone": no_grad(lambda: reference.backbone(image)),
        "features": no_grad(lambda: reference.features(image)),
        "detect": no_grad(lambda: reference.detect(image, kernels)),
    }

    import jax
    import jax.numpy as jnp

    from configs.dmtrack_gs_official import get_config as official_config
    from dmtrack_jax.convert import convert_state_dict
    from dmtrack_jax.models import build_model, with_winograd_kernels

    config = official_config()
    config.model.conv_algorithm = args.conv_algorithm
    variables, _ = convert_state_dict(torch_ref.numpy_state_dict(reference), config)
    model = build_model(config.model)
    variables = with_winograd_kernels(model, variables)  # as the tracker holds them
    x = jnp.asarray(image.numpy().transpose(0, 2, 3, 1))
    jax_kernels = jax.jit(lambda v, a, b: model.apply(v, a, b, method=model.encode_template))(
        variables, x, jnp.asarray([[box]], jnp.float32))
    trunk_module, trunk_variables = jax_trunk(model, config, variables)
    jitted = {
        "trunk": (jax.jit(lambda v, a: trunk_module.apply(v, a, False)), (trunk_variables, x)),
        "backbone": (jax.jit(lambda v, a: model.apply(
            v, a, False, method=lambda m, i, t: m.backbone(i, t))), (variables, x)),
        "features": (jax.jit(lambda v, a: model.apply(
            v, a, False, method=lambda m, i, t: m._features(i, t))), (variables, x)),
        "detect": (jax.jit(lambda v, a, k: model.apply(v, a, k, method=model.detect)),
                   (variables, x, jax_kernels)),
    }
    jax_calls = {name: (lambda fn=fn, inputs=inputs: jax.block_until_ready(fn(*inputs)))
                 for name, (fn, inputs) in jitted.items()}
    for call in jax_calls.values():
        call()  # compile

    # Round robin: every repeat times every part of both frameworks once, so a change of the
    # machine's load during the run hits all of them alike.
    load_start = benchlib.loadavg()
    times = {(side, name): [] for side in ("torch", "jax") for name in torch_calls}
    for _ in range(args.repeats):
        for side, calls in (("torch", torch_calls), ("jax", jax_calls)):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                times[side, name].append(time.perf_counter() - start)
    load_end = benchlib.loadavg()
    parts_torch = {name: benchlib.summarize(times["torch", name]) for name in torch_calls}
    parts_jax = {name: benchlib.summarize(times["jax", name]) for name in jax_calls}

    def split(parts, statistic="median_s"):
        m = {k: v[statistic] for k, v in parts.items()}
        return {"trunk_dla34": m["trunk"], "dla_up_with_dcn": m["backbone"] - m["trunk"],
                "fpn": m["features"] - m["backbone"],
                "dynamic_head": m["detect"] - m["features"], "total": m["detect"]}

    torch_split, jax_split = split(parts_torch), split(parts_jax)
    torch_best, jax_best = split(parts_torch, "min_s"), split(parts_jax, "min_s")
    result = {
        "config": "dmtrack_gs_official", "input_hw": hw, "torch_threads": args.threads,
        "torch_s": torch_split, "jax_s": jax_split,
        "torch_s_from_best": torch_best, "jax_s_from_best": jax_best,
        "torch_dcn_s": dcn_share * torch_split["total"], "torch_dcn_share": dcn_share,
        "loadavg_start_end": [load_start, load_end],
        "raw": {"torch": parts_torch, "jax": parts_jax}, "machine": benchlib.machine(),
    }
    path = benchlib.write_result("breakdown", result)
    print(f"DMTrack-GS at {hw[0]}x{hw[1]}, medians of {args.repeats}, load {load_start} -> "
          f"{load_end}")
    print(f"{'part':<22} {'torch s':>8} {'jax s':>8} {'jax/torch':>9}   (from best repeats:"
          f" {'torch':>6} {'jax':>6})")
    for key in torch_split:
        print(f"{key:<22} {torch_split[key]:>8.3f} {jax_split[key]:>8.3f} "
              f"{jax_split[key] / torch_split[key]:>9.2f}   {'':>19}{torch_best[key]:>6.3f} "
              f"{jax_best[key]:>6.3f}")
    print(f"torch deformable convs: {result['torch_dcn_s']:.3f} s ({dcn_share:.0%} of detect)")
    print(f"wrote {path}")



if __name__ == "__main__":
    main()
