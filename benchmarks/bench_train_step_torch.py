"""The training step, JAX vs the same model's PyTorch training step (issue 21, item 1).

Full size (run on a quiet machine):
    python benchmarks/bench_train_step_torch.py --config tiny --batch 2 --steps 5
    python benchmarks/bench_train_step_torch.py --config dmtrack_gs_official --batch 2 \\
        --canvas 512,736 --steps 1 --rounds 3
Rehearsal (minutes): --config tiny --batch 2 --canvas 64,96 --targets 1 --steps 2
Quiet machine only (torch's OpenMP threads slow many-fold under load: bench_tracker_torch.py).
The model is built as the training loop builds it (`build_model(..., for_training=True)`:
'auto' convs are XLA's; with Winograd the full-width JAX training step compiled but segfaulted
inside XLA on its first run, 2026-11-29, jax 0.10.2); --conv-algorithm winograd forces it.

One step on both sides: forward of the template images (backbone, FPN, RoIAlign, controllers
-> dynamic kernels) and of the search images (backbone, FPN, dynamic head), the cross-query
detection losses of dmtrack_jax/losses.py (sigmoid focal over both classes / (num_pos + 1),
centerness-weighted -log IoU with mmdet's clamp, centerness BCE over the positives; FCOS
targets with centre sampling and regress ranges, dmtrack_jax/targets.py, computed inside the
step on both sides), backward, and the SGD update of dmtrack_jax/train/optimizer.py (global
norm clip 35, coupled weight decay on conv kernels only, momentum 0.9, bias lr x 2; the tiny
config's AdamW is replaced by this SGD on both sides). BatchNorm in training mode.
  JAX      `dmtrack_jax.train.step`'s jitted, donated SOT step on one device (its
           non-finite-loss masking and grad-norm metric included).
  PyTorch  tests/convert/torch_reference.py (loaded by path) in train mode, eager, float32,
           NCHW, --threads intra-op threads; DCN by torch's F.grid_sample + matmul (the
           compiled-op DCN of bench_torch_compiled.py; torchvision.ops.deform_conv2d when its
           C++ ops load) and RoIAlign by the reference's gathers (torchvision.ops.roi_align
           when it loads): both differentiable; torch.optim.SGD with the same parameter groups
           and torch.nn.utils.clip_grad_norm_. No torch.compile (its Python loops over images
           and targets would be traced and compiled with the backward: not attempted).
Models: the released GS architecture at the config's widths (tiny: configs/tiny.py's widths;
dmtrack_gs_official: the paper's DLA-34 network), without the re-id head (absent from the
torch reference and unused by the SOT step) and with the controllers' padding quirk; random
weights (fixed seed) converted with `convert_state_dict`. Pairs: bench_train_step.sot_pairs
(T = --targets textured rectangles per pair, default the config's data.max_targets).

Each side runs in its own worker process (benchlib.LineWorker), so the memory figures are
separate: peak resident set (ru_maxrss, compile and set-up included) and the RSS before the
first step; JAX also XLA's compiled memory analysis. Before timing, both sides' losses on the
same batch (before any update) must agree to 1e-3 relative (else RuntimeError). One untimed
step per side, then --steps timed steps alternating JAX, torch, JAX, ... (short pauses); with
--rounds N, N rounds of: a fresh torch worker (warm-up + --steps steps, exits), then a fresh
JAX worker (the same), so only one side's memory is resident at a time (the paper config at
512x736 and T = 8: XLA's estimate alone is ~9 GiB, 11 GiB peak RSS in bench_train_step.py).
Writes benchmarks/results/train_torch_<config>_b<batch>_<H>x<W>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import sys
import tempfile
import time

import benchlib
import numpy as np
from bench_torch_compiled import PAUSE_S
from bench_train_step import sot_pairs, xla_memory_mib

TOLERANCE = 1e-3
LOSS_KEYS = ("det_loss", "focal", "iou", "ctr", "num_pos")


def train_config(name: str):
    """The config both sides train: the GS architecture at `name`'s widths, SGD."""
    if name not in ("tiny", "dmtrack_gs_official"):
        raise ValueError(f"--config {name}: the torch reference implements the GS architecture "
                         f"(tiny or dmtrack_gs_official)")
    config = benchlib.load_config(name)
    config.model.reid_dim = 0
    config.model.controller_padding_quirk = True
    config.optim.name = "sgd"
    return config


def setup(args):
    config = train_config(args.config)
    canvas = (benchlib.parse_hw(args.canvas) if args.canvas
              else tuple(config.data.sources.synthetic.size))
    targets = args.targets or int(config.data.max_targets)
    batches = [sot_pairs(seed, args.batch, canvas, targets) for seed in range(2)]
    return config, canvas, targets, batches


def memory_now_mib() -> float:
    status = pathlib.Path("/proc/self/status").read_text().split("VmRSS:")
    return round(int(status[1].split()[0]) / 1024.0, 1) if len(status) > 1 else float("nan")


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def serve(info: dict, step) -> None:
    """Worker loop: 'step I' -> seconds of one step on batch I % 2; 'stats' -> memory."""
    info["rss_before_steps_mib"] = memory_now_mib()
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        command, _, value = line.strip().partition(" ")
        if command == "step":
            start = time.perf_counter()
            loss = step(int(value) % 2)
            print(json.dumps({"s": time.perf_counter() - start, "loss": loss}), flush=True)
        elif command == "stats":
            print(json.dumps({"peak_rss_mib": peak_rss_mib()}), flush=True)
        else:
            return


# ----------------------------------------------------------------------------------------------
# PyTorch side


def torch_losses(torch, F, outputs, boxes, loss_config, strides):
    """dmtrack_jax.losses.detection_loss in torch: outputs per level (B, T, C, H, W), boxes
    (B, T, 4) -> {det_loss, focal, iou, ctr, num_pos} (all pairs valid)."""
    def flat(maps):  # -> (B, T, P, C), finest level first
        return torch.cat([m.permute(0, 1, 3, 4, 2).reshape(m.shape[0], m.shape[1], -1,
                                                           m.shape[2]) for m in maps], dim=2)

    cls, reg, ctr = flat(outputs["cls"]), flat(outputs["reg"]), flat(outputs["ctr"])[..., 0]
    points, point_stride, ranges = [], [], []
    for level, stride in enumerate(strides):
        h, w = outputs["cls"][level].shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32) * stride + stride // 2,
                                torch.arange(w, dtype=torch.float32) * stride + stride // 2,
                                indexing="ij")
        points.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], -1))
        point_stride.append(torch.full((h * w,), float(stride)))
        ranges.append(torch.tensor(loss_config.regress_ranges[level]).expand(h * w, 2))
    points, point_stride, ranges = torch.cat(points), torch.cat(point_stride), torch.cat(ranges)
    x, y = points[:, 0], points[:, 1]  # (P,) against boxes (B, T, 1)
    x1, y1, x2, y2 = (boxes[..., i:i + 1] for i in range(4))
    ltrb = torch.stack([x - x1, y - y1, x2 - x, y2 - y], -1)  # (B, T, P, 4)
    r = point_stride * loss_config.center_sampling_radius
    cx, cy = (x1 + x2) * 0.5, (y1 + y2) * 0.5
    inside = torch.minimum(
        torch.minimum(x - torch.maximum(cx - r, x1), y - torch.maximum(cy - r, y1)),
        torch.minimum(torch.minimum(cx + r, x2) - x, torch.minimum(cy + r, y2) - y)) > 0
    largest = ltrb.max(-1).values
    positive = inside & (largest >= ranges[:, 0]) & (largest <= ranges[:, 1])
    pos = positive.float()
    ltrb = ltrb * pos[..., None]

    onehot = torch.zeros_like(cls)
    onehot[..., -1] = pos
    alpha, gamma = loss_config.focal_alpha, loss_config.focal_gamma
    p = torch.sigmoid(cls)
    p_t = p * onehot + (1 - p) * (1 - onehot)
    focal_terms = (F.binary_cross_entropy_with_logits(cls, onehot, reduction="none")
                   * (1 - p_t) ** gamma * (alpha * onehot + (1 - alpha) * (1 - onehot)))
    focal = focal_terms.sum((2, 3)) / (pos.sum(2) + 1.0)

    lr_, tb_ = ltrb[..., 0::2], ltrb[..., 1::2]
    centerness = torch.sqrt(torch.clamp(
        lr_.min(-1).values / lr_.max(-1).values.clamp(min=1e-12)
        * tb_.min(-1).values / tb_.max(-1).values.clamp(min=1e-12), 0.0, 1.0))
    ctr_target = centerness * pos
    inter = ((torch.minimum(reg[..., 0], ltrb[..., 0]) + torch.minimum(reg[..., 2], ltrb[..., 2]))
             .clamp(min=0) * (torch.minimum(reg[..., 1], ltrb[..., 1])
                              + torch.minimum(reg[..., 3], ltrb[..., 3])).clamp(min=0))
    area_p = (reg[..., 0] + reg[..., 2]) * (reg[..., 1] + reg[..., 3])
    area_t = (ltrb[..., 0] + ltrb[..., 2]) * (ltrb[..., 1] + ltrb[..., 3])
    iou = inter / (area_p + area_t - inter).clamp(min=1e-6)
    iou_term = -torch.log(iou.clamp(min=float(loss_config.get("iou_eps", 1e-6))))
    iou_loss = (ctr_target * iou_term).sum(2) / ctr_target.sum(2).clamp(min=1e-6)
    ctr_terms = F.binary_cross_entropy_with_logits(ctr, ctr_target, reduction="none")
    ctr_loss = (pos * ctr_terms).sum(2) / pos.sum(2).clamp(min=1.0)
    parts = {"focal": focal.mean(), "iou": iou_loss.mean(), "ctr": ctr_loss.mean(),
             "num_pos": pos.sum(2).mean()}
    parts["det_loss"] = parts["focal"] + parts["iou"] + parts["ctr"]
    return parts


def torch_sgd(torch, model, optim_config):
    """torch.optim.SGD with dmtrack_jax.train.optimizer's groups and the lr of step 0."""
    c = optim_config
    lr = float(c.learning_rate) * (float(c.warmup_ratio) if c.warmup_steps > 0 else 1.0)
    norms = {id(p) for m in model.modules()
             if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))
             for p in m.parameters()}
    groups = {"kernel": [], "bias": [], "other": []}
    for name, param in model.named_parameters():
        if id(param) in norms or name.endswith("scale"):
            groups["other"].append(param)
        elif name.endswith("bias"):
            groups["bias"].append(param)
        else:
            groups["kernel"].append(param)
    return torch.optim.SGD([
        {"params": groups["kernel"], "weight_decay": float(c.weight_decay)},
        {"params": groups["bias"], "lr": lr * float(c.bias_lr_mult), "weight_decay": 0.0},
        {"params": groups["other"], "weight_decay": 0.0}], lr=lr, momentum=float(c.momentum))


def torch_worker(args) -> None:
    import torch
    import torch.nn.functional as F
    from bench_torch_compiled import compiled_ops, swap_ops
    from bench_torch_vs_jax import load_by_path

    torch.set_num_threads(args.threads)
    config, canvas, targets, batches = setup(args)
    torch_ref = load_by_path("torch_reference")
    model = load_by_path("parity_case").reference_for(torch_ref, config.model, seed=0,
                                                      image_hw=(128, 192))
    np.savez(args.state, **torch_ref.numpy_state_dict(model))
    dcn_op, roi_op, _, tv_error = compiled_ops()
    swap_ops(torch_ref, model, dcn_op, roi_op)
    model.train()
    optimizer = torch_sgd(torch, model, config.optim)
    strides = tuple(config.model.strides)
    data = [{"template": torch.from_numpy(b["template_image"].transpose(0, 3, 1, 2).copy()),
             "search": torch.from_numpy(b["search_image"].transpose(0, 3, 1, 2).copy()),
             "template_boxes": b["template_boxes"].tolist(),
             "search_boxes": torch.from_numpy(b["search_boxes"])} for b in batches]

    def losses(batch):
        kernels = model.encode_template(batch["template"], batch["template_boxes"])
        outputs = model.detect(batch["search"], kernels)
        return torch_losses(torch, F, outputs, batch["search_boxes"], config.loss, strides)

    def step(index):
        optimizer.zero_grad(set_to_none=True)
        loss = losses(data[index])["det_loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), float(config.optim.grad_clip_norm))
        optimizer.step()
        return float(loss.detach())

    with torch.no_grad():  # before any update, as the JAX side's
        first = {k: float(v) for k, v in losses(data[0]).items()}
    serve({"losses": first, "torch_threads": args.threads, "torchvision_error": tv_error,
           "dcn_op": "torchvision.ops.deform_conv2d" if roi_op else "F.grid_sample + matmul",
           "roi_align_op": "torchvision.ops.roi_align" if roi_op else "reference (gathers)",
           "canvas_hw": canvas, "targets": targets}, step)


# ----------------------------------------------------------------------------------------------
# JAX side


def jax_worker(args) -> None:
    import functools

    import jax

    from dmtrack_jax.convert import convert_state_dict
    from dmtrack_jax.models import build_model
    from dmtrack_jax.train import sharding as shd
    from dmtrack_jax.train.optimizer import make_optimizer
    from dmtrack_jax.train.step import create_train_state, make_train_steps, sot_loss_fn

    config, _, _, batches = setup(args)
    config.model.conv_algorithm = args.conv_algorithm
    variables, _ = convert_state_dict(dict(np.load(args.state)), config)
    model = build_model(config.model, for_training=True)
    tx = make_optimizer(config.optim)
    mesh = shd.make_mesh(1, jax.devices()[:1])
    state, shardings = create_train_state(model, tx, config, mesh, jax.random.PRNGKey(0))
    params = {"model": variables["params"]}
    state = jax.device_put(state.replace(params=params, batch_stats=variables["batch_stats"],
                                         opt_state=tx.init(params)), shardings)
    sot_step, _ = make_train_steps(model, tx, config, mesh, shardings)
    data = [shd.global_batch(mesh, b) for b in batches]
    loss_fn = jax.jit(functools.partial(sot_loss_fn, model, config))
    _, (metrics, _) = loss_fn(state.params, state.batch_stats, data[0])
    first = {k: float(np.asarray(metrics[k])) for k in LOSS_KEYS}
    start = time.perf_counter()
    compiled = sot_step.lower(state, data[0]).compile()
    compile_s = time.perf_counter() - start
    holder = {"state": state}

    def step(index):
        holder["state"], out = compiled(holder["state"], data[index])
        return float(np.asarray(jax.block_until_ready(out)["loss"]))

    serve({"losses": first, "compile_s": round(compile_s, 2),
           "xla_memory": xla_memory_mib(compiled.memory_analysis())}, step)


# ----------------------------------------------------------------------------------------------


def check_losses(jax_losses: dict, torch_losses_: dict, tolerance: float = TOLERANCE) -> dict:
    """Relative difference per loss term; RuntimeError when one exceeds `tolerance`."""
    errors = {k: abs(jax_losses[k] - torch_losses_[k]) / max(abs(torch_losses_[k]), 1e-12)
              for k in LOSS_KEYS}
    if max(errors.values()) > tolerance:
        raise RuntimeError(f"losses differ beyond {tolerance} relative: {errors} (JAX "
                           f"{jax_losses}, torch {torch_losses_}); the timing would compare "
                           f"different steps")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny", choices=("tiny", "dmtrack_gs_official"))
    parser.add_argument("--batch", type=int, default=2, help="SOT pairs per step")
    parser.add_argument("--canvas", default="", help="H,W of the pair images (default: the "
                        "config's synthetic size, 128x160; paper: 512,736)")
    parser.add_argument("--targets", type=int, default=0, help="T (default data.max_targets)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per side")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--rounds", type=int, default=0,
                        help="0: both sides' workers alive, steps alternating; N: N rounds of "
                        "one side at a time (fresh workers, set-up and warm-up step each round; "
                        "for sizes where both sides' memory would not fit at once)")
    parser.add_argument("--no-write", action="store_true", help="rehearsal: write no result")
    parser.add_argument("--side", default="", choices=("", "jax", "torch"), help="(internal)")
    parser.add_argument("--state", default="", help="(internal)")
    benchlib.add_conv_algorithm_arg(parser)
    args = parser.parse_args()
    if args.side:
        (jax_worker if args.side == "jax" else torch_worker)(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, __file__, "--state", os.path.join(tmp, "state.npz")]
        result = run(args, lambda side: benchlib.LineWorker(base + ["--side", side]
                                                            + sys.argv[1:]))
    step_s, error = result["step_s_median"], max(result["loss_rel_error"].values())
    print(f"training step, {args.config} at {result['canvas_hw']}, {args.batch} pairs x "
          f"{result['targets']} targets, {len(result['raw']['jax']['all_s'])} steps per side, "
          f"load {result['loadavg_start_end']}; losses agree to {error:.1e}")
    for side in ("jax", "torch"):
        print(f"  {side:5s}: {step_s[side]:.3f} s/step median -> "
              f"{result['pairs_per_s'][side]:.3f} pairs/s; peak RSS "
              f"{result['peak_rss_mib'][side]:.0f} MiB")
    print(f"  JAX/PyTorch pairs/s: {result['ratio_jax_over_torch_pairs_per_s']:.2f}; XLA "
          f"memory analysis: {result['jax']['xla_memory']}")
    if not args.no_write:
        h, w = result["canvas_hw"]
        name = f"train_torch_{args.config}_b{args.batch}_{h}x{w}"
        print(f"wrote {benchlib.write_result(name, result)}")


def run(args, start_worker) -> dict:
    """Alternating steps with both workers alive (--rounds 0), or --rounds rounds of one fresh
    worker per side at a time (torch, then JAX: their memory never overlaps)."""
    info, errors, stats = {}, {}, {}
    times, warmup, final = {"jax": [], "torch": []}, {"jax": [], "torch": []}, {}

    def started(side):
        worker = start_worker(side)
        info.setdefault(side, worker.info)
        if len(info) == 2 and not errors:
            print(f"losses before any update: JAX {info['jax']['losses']}, torch "
                  f"{info['torch']['losses']}")
            errors.update(check_losses(info["jax"]["losses"], info["torch"]["losses"]))
            print(f"loss parity (relative, tolerance {TOLERANCE}): "
                  + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()), flush=True)
        return worker

    def step(side, worker, index, into):
        time.sleep(PAUSE_S)
        reply = json.loads(worker.ask(f"step {index}"))
        into[side].append(reply["s"])
        final[side] = reply["loss"]

    def finish(side, worker):
        peak = json.loads(worker.ask("stats"))["peak_rss_mib"]
        stats[side] = max(stats.get(side, 0.0), peak)
        worker.close()

    load_start = benchlib.loadavg()
    if args.rounds:
        for _ in range(args.rounds):
            for side in ("torch", "jax"):  # torch first: it writes the weights JAX converts
                worker = started(side)
                try:
                    step(side, worker, 1, warmup)
                    for i in range(args.steps):
                        step(side, worker, i, times)
                finally:
                    finish(side, worker)
    else:
        workers = {}
        try:
            for side in ("torch", "jax"):
                workers[side] = started(side)
            for side, worker in workers.items():
                step(side, worker, 1, warmup)
            for i in range(args.steps):
                for side in ("jax", "torch"):
                    step(side, workers[side], i, times)
        finally:
            for side, worker in workers.items():
                finish(side, worker)
    load_end = benchlib.loadavg()
    summary = {side: benchlib.summarize(t) for side, t in times.items()}
    pairs = {side: args.batch / s["median_s"] for side, s in summary.items()}
    return {
        "config": args.config, "canvas_hw": info["torch"]["canvas_hw"],
        "targets": info["torch"]["targets"], "pairs_per_step": args.batch,
        "steps_timed_per_side": len(times["jax"]), "rounds": args.rounds,
        "conv_algorithm": args.conv_algorithm,
        "model": "GS architecture at the config's widths, no re-id head, controller padding "
                 "quirk; random weights; SGD (optim.name forced to sgd)",
        "losses_before_update": {side: info[side]["losses"] for side in info},
        "loss_rel_error": errors, "tolerance": TOLERANCE,
        "final_loss": final, "warmup_step_s": warmup,
        "step_s_median": {k: round(s["median_s"], 4) for k, s in summary.items()},
        "step_s_min": {k: round(s["min_s"], 4) for k, s in summary.items()},
        "pairs_per_s": {k: round(v, 3) for k, v in pairs.items()},
        "ratio_jax_over_torch_pairs_per_s": round(pairs["jax"] / pairs["torch"], 3),
        "peak_rss_mib": stats,
        "rss_before_steps_mib": {side: info[side]["rss_before_steps_mib"] for side in info},
        "jax": {k: info["jax"][k] for k in ("compile_s", "xla_memory")},
        "torch": {k: info["torch"][k] for k in ("torch_threads", "dcn_op", "roi_align_op",
                                                  "torchvision_error")},
        "loadavg_start_end": [load_start, load_end],
        "raw": summary, "machine": benchlib.machine(),
    }


if __name__ == "__main__":
    main()
