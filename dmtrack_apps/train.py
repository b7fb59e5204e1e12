"""`dmtrack train --config CONFIG --workdir W [--config.x=y ...]`.

The composition root of training: it loads the config (locked, overrides applied), resolves
the run-time values into a new config (`resolve_run_config`: per-process batch sizes, the
number of identities), builds the data iterators (`data_pipelines`, synthetic sequences by
default) and the evaluators declared in `config.evals` (dmtrack_apps/evaluators.py) and hands
them to `train_and_evaluate`, which records the resolved config in the workdir's config.json.
The library modules under `dmtrack_jax` never import `data_pipelines` or `eval`; this entry
point is where they meet.

Test-split guard: `config.eval_benchmarks` lists the benchmarks (`eval.scoring.BENCHMARKS`
names) the run's model will be reported on. Once the data is read, and before anything is
compiled, training refuses to start when a training source holds sequences of such a
benchmark's test data -- LaSOT: the 280 test sequences (the root's testing_set.txt if any);
GOT-10k: the val and test folders (and released GOT-10k_Val_/GOT-10k_Test_ names); TrackingNet:
the TEST chunk -- unless `--config.data.allow_test_overlap=True` (then it warns). Sequences are
compared by name within one dataset; overlap across datasets (e.g. GOT-10k's rule of training on
its train split only) is not checked.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

from dmtrack_apps.errors import UserError
from dmtrack_jax.config_utils import apply_overrides, load_config_file, resolve_run_config

OVERRIDE = "--config.data.allow_test_overlap=True"
_GOT10K_HELD_OUT = re.compile(r"GOT-10k_(Val|Test)_\d+")


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


def eval_benchmarks(config) -> tuple[str, ...]:
    """The benchmark names of `config.eval_benchmarks` (entries may hold comma-joined names);
    an unknown name is a ValueError listing the known ones."""
    from eval.scoring import BENCHMARKS

    names = tuple(n.strip() for entry in (config.get("eval_benchmarks") or ())
                  for n in str(entry).split(",") if n.strip())
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise ValueError(f"config.eval_benchmarks: unknown benchmark(s) {unknown}; expected "
                         f"names of {sorted(BENCHMARKS)}")
    return names


def held_out(benchmark: str, root: str):
    """(predicate on a `Sequence`, what it selects) for `benchmark`'s test data as a training
    source of the same dataset at `root` ('' when read from tfds) holds it; None when the
    benchmark is no training source's dataset."""
    from data_pipelines.datasets import lasot
    from data_pipelines.datasets.parsing import read_lines

    folder = pathlib.Path(root) if root else None
    if benchmark == "lasot":
        names = set(lasot.split_names(folder, "test") if folder is not None
                    else lasot.LASOT_TEST_SEQUENCES)
        return (lambda seq: seq.name in names), "test split"
    if benchmark == "got10k":
        names = set()
        for split in ("val", "test"):
            listing = folder / split / "list.txt" if folder is not None else None
            if listing is not None and listing.is_file():
                names.update(text for _, text in read_lines(listing))
        return (lambda seq: seq.name in names
                or _GOT10K_HELD_OUT.fullmatch(seq.name) is not None), "val/test splits"
    if benchmark == "trackingnet":
        # Video names are unique across chunks in the release; read from a root, a sequence's
        # frames also say its chunk (tfds keeps only the name).
        test_dir = folder / "TEST" if folder is not None else None
        names = ({p.stem for p in (test_dir / "anno").glob("*.txt")}
                 if test_dir is not None and test_dir.is_dir() else set())
        test_dir = test_dir.resolve() if test_dir is not None else None

        def in_test(seq) -> bool:
            first = str(seq.frame_paths[0]) if seq.frame_paths else "tfds:"
            if test_dir is not None and not first.startswith("tfds:"):
                # <root>/TEST/frames/<name>/<i>.jpg
                return pathlib.Path(first).resolve().parents[2] == test_dir
            return seq.name in names

        return in_test, "TEST split"
    return None


def find_test_overlap(config, sources) -> list[str]:
    """One line per (training source, benchmark of `config.eval_benchmarks`) whose sequences
    meet: the source, its split, how many and the first few names."""
    lines = []
    for benchmark in eval_benchmarks(config):
        for source in sources:
            if source.name != benchmark:
                continue
            settings = config.data.sources[source.name]
            found = held_out(benchmark, settings.root)
            if found is None:
                continue
            is_held_out, what = found
            names = [s.name for s in source.sequences if is_held_out(s)]
            if names:
                where = (f"tfds {settings.tfds_dir}" if settings.tfds_dir
                         else f"split {settings.split or 'default'!r}")
                lines.append(f"data source {source.name} ({where}) holds {len(names)} "
                             f"sequence(s) of the {benchmark} benchmark's {what}, e.g. "
                             f"{', '.join(names[:3])}")
    return lines


def check_test_overlap(config, sources) -> None:
    """Refuses (UserError naming the override) a run whose training sources overlap the test
    data of a benchmark in `config.eval_benchmarks`; warns when `data.allow_test_overlap`."""
    lines = find_test_overlap(config, sources)
    if not lines:
        return
    if config.data.get("allow_test_overlap", False):
        for line in lines:
            print(f"warning: training on test data ({OVERRIDE}): {line}", file=sys.stderr)
        return
    raise UserError(
        "training data overlaps the test data of a benchmark in config.eval_benchmarks: "
        + "; ".join(lines) + ". Train on the official training split (the default "
        "sources.<name>.split) or, to train on it anyway, pass " + OVERRIDE)


def build_iterators(config, process_index: int, process_count: int):
    """(run_config, sot_iterator, reid_iterator or None) for this process.

    `run_config` is a new locked config (`resolve_run_config`): per-process batch sizes and
    `loss.num_ids` 0 ("auto") resolved from the identity data; `config` is left unchanged.
    Refuses training data that overlaps an evaluation benchmark's test data
    (`check_test_overlap`) before anything is built on it.
    """
    from data_pipelines import loader

    run_config = resolve_run_config(config, process_count)
    eval_benchmarks(run_config)  # a misspelt benchmark fails before the data is read
    sampler = loader.build_sampler(run_config.data, run_config.seed)
    check_test_overlap(run_config, sampler.sources)
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
