"""`dmtrack train --config CONFIG --workdir W [--config.x=y ...]`.

The composition root of training: it builds the data iterators (`data_pipelines`, synthetic
sequences by default), the periodic evaluation hook (tracks a few held-out synthetic sequences
and logs their success AUC) and hands them to `train_and_evaluate`. The library modules under
`dmtrack_jax` never import `data_pipelines` or `eval`; this entry point is where they meet.
"""

from __future__ import annotations

import argparse
import pathlib

from dmtrack_jax.config_utils import apply_overrides, load_config_file


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train DMTrack (resumes automatically in an existing workdir)",
        description="Train DMTrack. Any config field can be overridden: --config.train.steps=100")
    p.add_argument("--config", required=True,
                   help="config file, e.g. configs/tiny.py (optionally FILE:ARG)")
    p.add_argument("--workdir", required=True,
                   help="checkpoints, metrics.jsonl and config.json go here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run, accepts_overrides=True)


def resolve_config(config_arg: str, overrides):
    config = load_config_file(config_arg)
    apply_overrides(config, overrides)
    return config


def build_iterators(config, process_index: int, process_count: int):
    """(sot_iterator, reid_iterator or None) for this process; sets loss.num_ids if 'auto' (0)."""
    from data_pipelines import loader

    data = config.data
    if config.train.batch_size % process_count:
        raise ValueError(f"train.batch_size={config.train.batch_size} is not divisible by "
                         f"{process_count} processes")
    with data.unlocked() if hasattr(data, "unlocked") else _null():
        data.batch_size = config.train.batch_size // process_count
        data.reid_batch_size = config.train.get("reid_batch_size", config.train.batch_size) \
            // process_count
    sampler = loader.build_sampler(data, config.seed)
    wants_reid = config.model.reid_dim > 0 and config.train.reid_every > 0
    if wants_reid:
        available = sampler.num_identities
        if config.loss.num_ids <= 0:
            config.loss.num_ids = max(int(available), 3)
        elif config.loss.num_ids < available:
            raise ValueError(f"loss.num_ids={config.loss.num_ids} but the identity data has "
                             f"{available} identities")
    sot = loader.make_train_iterator(data, "sot", process_index, process_count, config.seed,
                                     sampler=sampler)
    reid = (loader.make_train_iterator(data, "reid", process_index, process_count, config.seed,
                                       sampler=sampler) if wants_reid else None)
    return sot, reid


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def make_synthetic_eval_fn(config):
    """(model, state) -> {"success_auc", ...}: tracks `train.eval_sequences` held-out synthetic
    videos with the current weights (on process 0's devices) and scores them like LaSOT."""
    from eval import synthetic_benchmark

    from dmtrack_jax.tracking.tracker import BatchedTracker

    def evaluate(model, state):
        import jax

        variables = {"params": state.params["model"], "batch_stats": state.batch_stats}
        variables = jax.device_get(variables)
        tracker = config.tracker
        scores = synthetic_benchmark.evaluate_tracker(
            lambda: BatchedTracker(model, variables, tracker, tracker.input_size),
            config.train.eval_sequences, config.train.eval_frames,
            config.data.sources.synthetic.size, tracker.absent_confidence,
            batch_size=config.train.eval_sequences)
        return {"success_auc": scores["success"], "precision": scores["precision"],
                "norm_precision": scores["norm_precision"], "max_gm": scores["max_gm"]}

    return evaluate


def run(args: argparse.Namespace) -> int:
    import jax

    from dmtrack_jax.train import sharding as shd
    from dmtrack_jax.train.loop import train_and_evaluate

    config = resolve_config(args.config, args.overrides)
    shd.maybe_initialize_distributed(config)
    sot, reid = build_iterators(config, jax.process_index(), jax.process_count())
    workdir = pathlib.Path(args.workdir)
    eval_fn = None
    if config.train.eval_every > 0 and config.train.eval_sequences > 0:
        eval_fn = make_synthetic_eval_fn(config)
    state = train_and_evaluate(config, workdir, sot, reid, eval_fn,
                               progress=not args.no_progress)
    print(f"trained to step {int(jax.device_get(state.step))}; checkpoints in "
          f"{workdir / 'checkpoints'}, metrics in {workdir / 'metrics.jsonl'}")
    return 0
