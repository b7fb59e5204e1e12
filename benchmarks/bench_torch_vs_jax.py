"""JAX vs the PyTorch reference: the paper config's network step, same weights, same input,
same machine, one run, calls alternating (issue 9, item 5).

    python benchmarks/bench_torch_vs_jax.py [--repeats 3] [--input-size 512,736]

Model: the released DMTrack-GS architecture (configs/dmtrack_gs_official.py: the paper's
DLA-34 + FPN + dynamic head at full width, without the re-id head the PyTorch reference lacks).
The PyTorch side is the project's plain-torch reference (tests/convert/torch_reference.py,
loaded by file path): eager mode, float32, NCHW, `torch.set_num_threads(2)`, no_grad. Its
weights are random (fixed seed) and converted with `dmtrack_jax.convert.convert_state_dict`,
so both run the same function (checked: the head outputs must agree to 1e-3 relative).

Timed on both sides: `detect` (backbone, FPN, dynamic-conv head -> raw cls/reg/ctr maps), for
one image and one target whose kernels were generated once (the per-frame work of tracking).
Top-k, NMS and embedding sampling are not in the PyTorch reference and so not in either timing.

The torch side runs in its own worker process, driven call by call from this one, so that
XLA's thread pool and torch's never share a process (tests/convert/conftest.py reports that
they can fight there); the in-process torch time is still recorded
(`torch_in_process_after_xla_s`). Calls alternate torch, JAX, torch, ... with a short pause
between, so load changes on the shared machine hit both sides alike. On a shared machine the
result depends on the load: torch's eager ops (OpenMP) slow down far more than XLA's when
another process takes a core, so record the load and repeat at several loads.

Caveat: the reference writes mmcv's deformable conv (DCNv2, in the DLA-up) with torch gathers,
not mmcv's compiled kernel, so its time for those layers is not the released code's; the share
of torch time spent there is measured (`torch_dcn_share`) and the ratio is also given as if
those layers cost torch nothing. Writes benchmarks/results/torch_vs_jax.json and appends a line
to benchmarks/results/torch_vs_jax_history.jsonl (the ratio depends on the load: keep them all).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import benchlib

CONVERT_TESTS = benchlib.ROOT / "tests" / "convert"
PAUSE_S = 0.5  # between calls: lets the other side's spinning worker threads park


def load_by_path(name: str):
    """A helper module of tests/convert (benchmarks do not import the tests package)."""
    key = f"_dmtrack_convert_tests_{name}"  # the key tests/convert/conftest.py uses
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, CONVERT_TESTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def build_reference(hw):
    """(torch_ref module, reference model, image (1, 3, H, W), box): identical in every process
    (fixed seeds). Random weights with well-conditioned activations (BatchNorm statistics from
    one small calibration batch: only their scale matters)."""
    import torch

    from configs.dmtrack_gs_official import get_config as official_config

    torch_ref = load_by_path("torch_reference")
    parity_case = load_by_path("parity_case")
    reference = parity_case.reference_for(torch_ref, official_config().model, seed=0,
                                          image_hw=(128, 192))
    image = torch.randn((1, 3) + tuple(hw), generator=torch.Generator().manual_seed(1))
    h, w = hw
    box = [w * 0.4, h * 0.4, w * 0.55, h * 0.6]  # ~110 x 102 px: an FPN level-0 template
    return torch_ref, reference, image, box


def torch_worker(args) -> None:
    """Serves timed torch detect calls over stdin/stdout: 'run' -> seconds, 'dcn' -> share of
    one call spent in the deformable convs, 'quit'. Never runs XLA."""
    import torch

    torch.set_num_threads(args.threads)
    torch_ref, reference, image, box = build_reference(benchlib.parse_hw(args.input_size))
    with torch.no_grad():
        kernels = reference.encode_template(image, [[box]])
        outputs = reference.detect(image, kernels)  # also the warm-up call
    np.savez(args.torch_worker, **{f"{key}{level}": value.numpy()
                                   for key, levels in outputs.items()
                                   for level, value in enumerate(levels)})
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            start = time.perf_counter()
            with torch.no_grad():
                reference.detect(image, kernels)
            print(time.perf_counter() - start, flush=True)
        elif command == "dcn":
            print(torch_dcn_share(torch_ref, reference, image, kernels), flush=True)
        else:
            return


def torch_dcn_share(torch_ref, reference, image, kernels) -> float:
    """Fraction of one torch detect call spent inside the reference's modulated_deform_conv
    (timed by wrapping the module-level function the DCN modules call)."""
    import torch

    original = torch_ref.modulated_deform_conv
    spent = []

    def timed(*a, **k):
        start = time.perf_counter()
        out = original(*a, **k)
        spent.append(time.perf_counter() - start)
        return out

    torch_ref.modulated_deform_conv = timed
    try:
        with torch.no_grad():
            start = time.perf_counter()
            reference.detect(image, kernels)
            total = time.perf_counter() - start
    finally:
        torch_ref.modulated_deform_conv = original
    return sum(spent) / total


class Worker:
    """The torch worker process, one request at a time."""

    def __init__(self, args, outputs_path: str):
        command = [sys.executable, __file__, "--torch-worker", outputs_path,
                   "--input-size", args.input_size, "--threads", str(args.threads)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self._expect("ready")

    def _expect(self, what: str) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the torch worker exited (waiting for {what!r}); see stderr")
        return line.strip()

    def ask(self, command: str) -> float:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return float(self._expect(command))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per framework")
    parser.add_argument("--input-size", default="512,736", help="H,W (multiple of 32)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--torch-worker", default="", metavar="NPZ",
                        help="(internal) serve torch calls; write the outputs to NPZ")
    benchlib.add_conv_algorithm_arg(parser)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        outputs_path = os.path.join(tmp, "torch_outputs.npz")
        worker = Worker(args, outputs_path)  # starts first: its torch work precedes any XLA
        try:
            result = compare(args, worker, dict(np.load(outputs_path)))
        finally:
            worker.close()
    path = benchlib.write_result("torch_vs_jax", result)
    benchlib.append_history("torch_vs_jax_history", {
        k: result[k] for k in ("torch_s_median", "jax_s_median", "torch_s_min", "jax_s_min",
                               "jax_over_torch_fps_ratio_median", "torch_dcn_share",
                               "torch_in_process_after_xla_s", "loadavg_start_end",
                               "conv_algorithm")}
        | {"date": result["machine"]["date"], "repeats": args.repeats})
    hw = result["input_hw"]
    print(f"DMTrack-GS detect at {hw[0]}x{hw[1]} (JAX conv_algorithm: {args.conv_algorithm}), "
          f"{args.repeats} alternating runs, load "
          f"{result['loadavg_start_end']}; outputs agree to "
          f"{max(result['max_relative_error'].values()):.1e} relative")
    print(f"  torch eager ({args.threads} threads, own process): {result['torch_s_median']:.3f} "
          f"s median ({result['torch_s_min']:.3f} best) -> "
          f"{result['torch_frames_per_s']:.3f} frames/s")
    print(f"  jax jit: {result['jax_s_median']:.3f} s median ({result['jax_s_min']:.3f} best) "
          f"-> {result['jax_frames_per_s']:.3f} frames/s (compile {result['jax_compile_s']} s)")
    print(f"  JAX/PyTorch frames/s ratio: {result['jax_over_torch_fps_ratio_median']:.2f} "
          f"(median), {result['jax_over_torch_fps_ratio_best']:.2f} (best)")
    print(f"  torch time in its gather-written DCN layers: {result['torch_dcn_share']:.1%}; "
          f"ratio if they were free: {result['jax_over_torch_excluding_torch_dcn']:.2f}")
    print(f"  torch in THIS process after XLA ran: {result['torch_in_process_after_xla_s']:.2f} "
          f"s (for comparison; not used for the ratio)")
    print(f"wrote {path}")


def jax_trunk(model, config, variables):
    """The DLA-34 trunk alone, built exactly as inside `model.detect` (the model's conv
    algorithm, and its Winograd transforms where `variables` carries them): (module, its
    variables), for timing the trunk as a part of the network step."""
    from dmtrack_jax.models.dla import DLABase

    module = DLABase(tuple(config.model.dla_levels), tuple(config.model.dla_channels),
                     conv_algorithm=model.conv_algorithm)
    return module, {c: variables[c]["backbone"]["base"] for c in variables
                    if "base" in variables[c].get("backbone", {})}


class JaxDetect:
    """Our side of the comparison: the reference's weights converted into the GS config's model
    (`conv_algorithm` set), frame 1's kernels encoded once, and `run()` = one jitted detect
    call on the same image (blocking until done). Shared by the benchmarks against PyTorch."""

    def __init__(self, torch_ref, reference, image, box, conv_algorithm: str):
        import jax
        import jax.numpy as jnp

        from configs.dmtrack_gs_official import get_config as official_config
        from dmtrack_jax.convert import convert_state_dict
        from dmtrack_jax.models import build_model, with_winograd_kernels

        self.config = official_config()
        self.config.model.conv_algorithm = conv_algorithm
        converted, _ = convert_state_dict(torch_ref.numpy_state_dict(reference), self.config)
        model = self.model = build_model(self.config.model)
        # As the tracker's NetworkStep holds them: Winograd kernel transforms computed once.
        self.variables = with_winograd_kernels(model, converted)
        self.image_nhwc = jnp.asarray(image.numpy().transpose(0, 2, 3, 1))
        encode = jax.jit(lambda v, x, b: model.apply(v, x, b, method=model.encode_template))
        self.kernels = encode(self.variables, self.image_nhwc, jnp.asarray([[box]], jnp.float32))
        self._detect = jax.jit(lambda v, x, k: model.apply(v, x, k, method=model.detect))

    def run(self):
        import jax

        return jax.block_until_ready(self._detect(self.variables, self.image_nhwc, self.kernels))


def compare(args, worker: Worker, torch_outputs: dict) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    hw = benchlib.parse_hw(args.input_size)
    torch_ref, reference, image, box = build_reference(hw)
    jax_side = JaxDetect(torch_ref, reference, image, box, args.conv_algorithm)
    run_jax = jax_side.run
    start = time.perf_counter()
    jax_out = run_jax()
    jax_compile_s = time.perf_counter() - start
    errors = {key: max(relative_error(jax_out[key][level],
                                      np.moveaxis(torch_outputs[f"{key}{level}"], -3, -1))
                       for level in range(len(jax_out[key])))
              for key in ("cls", "reg", "ctr")}
    if max(errors.values()) > 1e-3:
        raise RuntimeError(f"the two frameworks disagree (relative errors {errors}): the "
                           f"timing would compare different functions")

    load_start = benchlib.loadavg()
    torch_times, jax_times = [], []
    for _ in range(args.repeats):
        torch_times.append(worker.ask("run"))
        time.sleep(PAUSE_S)
        start = time.perf_counter()
        run_jax()
        jax_times.append(time.perf_counter() - start)
        time.sleep(PAUSE_S)
    load_end = benchlib.loadavg()
    dcn_share = worker.ask("dcn")

    # The effect the worker process avoids: torch in a process whose XLA pool has run.
    with torch.no_grad():
        torch_kernels = reference.encode_template(image, [[box]])
        start = time.perf_counter()
        reference.detect(image, torch_kernels)
        in_process_s = time.perf_counter() - start

    torch_t, jax_t = benchlib.summarize(torch_times), benchlib.summarize(jax_times)
    return {
        "config": "dmtrack_gs_official", "input_hw": hw, "torch_threads": args.threads,
        "conv_algorithm": args.conv_algorithm,
        "max_relative_error": errors, "jax_compile_s": round(jax_compile_s, 2),
        "torch_s_median": torch_t["median_s"], "jax_s_median": jax_t["median_s"],
        "torch_s_min": torch_t["min_s"], "jax_s_min": jax_t["min_s"],
        "torch_frames_per_s": 1.0 / torch_t["median_s"],
        "jax_frames_per_s": 1.0 / jax_t["median_s"],
        "jax_over_torch_fps_ratio_median": torch_t["median_s"] / jax_t["median_s"],
        "jax_over_torch_fps_ratio_best": torch_t["min_s"] / jax_t["min_s"],
        "torch_dcn_share": dcn_share,
        "jax_over_torch_excluding_torch_dcn":
            torch_t["median_s"] * (1.0 - dcn_share) / jax_t["median_s"],
        "torch_in_process_after_xla_s": in_process_s,
        "loadavg_start_end": [load_start, load_end],
        "raw": {"torch": torch_t, "jax": jax_t}, "machine": benchlib.machine(),
    }


if __name__ == "__main__":
    main()
