"""`dmtrack train --config CONFIG --workdir W [--config.x=y ...]`.

The composition root of training: it loads the config (locked, overrides applied), resolves
the run-time values into a new config (`resolve_run_config`: per-process batch sizes, the
number of identities), builds the data iterators (`data_pipelines`, synthetic sequences by
default) and the evaluators declared in `config.evals` (dmtrack_apps/evaluators.py) and hands
them to `train_and_evaluate`, which records the resolved config in the workdir's config.json.
The library modules under `dmtrack_jax` never import `data_pipelines` or `eval`; this entry
point is where they meet.
"""

from __future__ import annotations

import argparse
import pathlib

from dmtrack_jax.config_utils import apply_overrides, load_config_file, resolve_run_config


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
    """The user's config: FILE[:ARG] with the command-line overrides applied, locked."""
    return apply_overrides(load_config_file(config_arg), overrides)


def build_iterators(config, process_index: int, process_count: int):
    """(run_config, sot_iterator, reid_iterator or None) for this process.

    `run_config` is a new locked config (`resolve_run_config`): per-process batch sizes and
    `loss.num_ids` 0 ("auto") resolved from the identity data; `config` is left unchanged.
    """
    from data_pipelines import loader

    run_config = resolve_run_config(config, process_count)
    sampler = loader.build_sampler(run_config.data, run_config.seed)
    wants_reid = run_config.model.reid_dim > 0 and run_config.train.reid_every > 0
    if wants_reid:
        run_config = resolve_run_config(config, process_count, sampler.num_identities)
    data = run_config.data
    sot = loader.make_train_iterator(data, "sot", process_index, process_count, run_config.seed,
                                     sampler=sampler)
    reid = (loader.make_train_iterator(data, "reid", process_index, process_count,
                                       run_config.seed, sampler=sampler)
            if wants_reid else None)
    return run_config, sot, reid


def run(args: argparse.Namespace) -> int:
    import jax

    from dmtrack_jax.train import sharding as shd
    from dmtrack_jax.train.loop import train_and_evaluate

    from dmtrack_apps.evaluators import build_evaluators

    config = resolve_config(args.config, args.overrides)
    shd.maybe_initialize_distributed(config)
    run_config, sot, reid = build_iterators(config, jax.process_index(), jax.process_count())
    workdir = pathlib.Path(args.workdir)
    state = train_and_evaluate(run_config, workdir, sot, reid, build_evaluators(run_config),
                               progress=not args.no_progress)
    print(f"trained to step {int(jax.device_get(state.step))}; checkpoints in "
          f"{workdir / 'checkpoints'}, metrics in {workdir / 'metrics.jsonl'}")
    return 0
