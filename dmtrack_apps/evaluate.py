"""`dmtrack eval`: score results folders (or track first from a checkpoint), print a table,
write JSON and comparison plots.

    dmtrack eval --benchmark lasot --root R --results-dir D [--results-dir E ...] \
        [--json out.json] [--plot-dir P]
    dmtrack eval --benchmark lasot --root R --checkpoint C --workdir W [--batch-size 8]

The JSON holds fractions in [0, 1]: success / precision / norm_precision for LaSOT, OTB, TLP
and TrackingNet; ao / sr50 / sr75 for GOT-10k; precision / recall / f_score for VOT-LT;
tpr / tnr / max_gm for OxUvA. With several results folders it maps each folder's label to
its scores.
"""

from __future__ import annotations

import pathlib

from dmtrack_common.fileio import check_writable_dir, write_json_atomic
from eval import ope_metrics, plots, runner, scoring


def _label(path: pathlib.Path, taken: set[str]) -> str:
    label = path.name or str(path)
    return str(path) if label in taken else label


def format_table(benchmark: str, results: dict[str, dict]) -> str:
    keys = scoring.SCORE_KEYS[scoring.get_benchmark(benchmark).family]
    width = max([len("tracker")] + [len(label) for label in results])
    lines = [f"{'tracker':<{width}}  " + "  ".join(f"{k:>14}" for k in keys)]
    for label, result in results.items():
        lines.append(f"{label:<{width}}  "
                     + "  ".join(f"{result['scores'][k]:>14.4f}" for k in keys))
    return "\n".join(lines)


def _check_outputs(args) -> None:
    """Where --json and --plot-dir write: checked before any sequence is tracked or scored."""
    if args.json:
        json_path = pathlib.Path(args.json)
        if json_path.is_dir():
            raise ValueError(f"--json {json_path} is an existing folder; give a file name")
        check_writable_dir(json_path.parent, "--json")
    if args.plot_dir:
        check_writable_dir(args.plot_dir, "--plot-dir")


def run(args) -> int:
    bench = scoring.get_benchmark(args.benchmark)
    names = [n for n in args.sequences.split(",") if n] if args.sequences else None
    if args.checkpoint is None and not args.results_dir:
        raise ValueError("give --results-dir D (score existing results) or --checkpoint C "
                         "--workdir W (track, then score)")
    if args.checkpoint is not None and args.workdir is None:
        raise ValueError("--checkpoint needs --workdir W (results go to W/results/...)")
    if args.overrides and args.checkpoint is None:
        raise ValueError(f"config overrides {args.overrides} only apply with --checkpoint")
    results_dirs = [pathlib.Path(d) for d in (args.results_dir or [])]
    _check_outputs(args)
    if args.checkpoint is not None:
        split = args.split or bench.default_split
        own_dir = pathlib.Path(args.workdir) / "results" / (
            args.benchmark if split is None else f"{args.benchmark}_{split}")
        check_writable_dir(own_dir, "--workdir: results folder")
        from dmtrack_jax.tracking.tracker import BatchedTracker, Tracker

        # Built (and its config checked, a bad override refused in one line) before any
        # sequence is read or tracked.
        tracker_class = BatchedTracker if args.batch_size > 1 else Tracker
        tracker = tracker_class.from_checkpoint(args.checkpoint, config_overrides=args.overrides)
        sequences = scoring.read_sequences(args.benchmark, args.root, args.split,
                                           with_frames=True, names=names)
        writer = bench.make_writer()
        if isinstance(writer, runner.OxuvaWriter):
            absent_confidence = tracker.tracker_config.get("absent_confidence", 0.5)
            writer.present_threshold = (args.present_threshold
                                        if args.present_threshold is not None else
                                        float(absent_confidence))
        summary = runner.run_benchmark(sequences, lambda: tracker, own_dir, writer,
                                       batch_size=args.batch_size,
                                       frame_stride=args.frame_stride)
        print(f"tracked {len(summary.tracked)} sequences, {len(summary.skipped)} already done "
              f"-> {own_dir}")
        if not scoring.scored_locally(args.benchmark, args.root, args.split):
            print(f"{args.benchmark} {split}: annotations are withheld, so it is scored by the "
                  f"benchmark's server; submit the results in {own_dir}")
            return 0
        results_dirs = [own_dir] + results_dirs
    for d in results_dirs:
        if not d.is_dir():
            raise FileNotFoundError(f"results folder not found: {d}")
    results: dict[str, dict] = {}
    for d in results_dirs:
        results[_label(d, set(results))] = scoring.score_results(
            args.benchmark, args.root, d, args.split, args.toolkit, names,
            frame_stride=args.frame_stride)
    print(format_table(args.benchmark, results))
    if args.json:
        scores = {label: r["scores"] for label, r in results.items()}
        write_json_atomic(pathlib.Path(args.json),
                          next(iter(scores.values())) if len(scores) == 1 else scores)
    if args.plot_dir:
        for path in plots.write_plots(args.benchmark, results, args.plot_dir):
            print(f"wrote {path}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="score tracking results on a benchmark (or track it first)",
        description="Score results folders with the benchmark's official conventions, print a "
                    "table, write JSON and plots. With --checkpoint, track every sequence first "
                    "(resumable); --config.tracker.FIELD=VALUE overrides apply then.")
    parser.add_argument("--benchmark", required=True, choices=sorted(scoring.BENCHMARKS))
    parser.add_argument("--root", required=True, help="the benchmark's dataset folder")
    parser.add_argument("--split", default=None,
                        help="got10k: val|test; trackingnet: TEST|TRAIN_k; oxuva: dev|test; "
                             "lasot: 'all' for every sequence folder instead of the test set")
    parser.add_argument("--results-dir", action="append", default=None,
                        help="a results folder in the benchmark's format (repeat to compare)")
    parser.add_argument("--checkpoint", default=None, help="track with this checkpoint first")
    parser.add_argument("--workdir", default=None, help="with --checkpoint: where results go")
    parser.add_argument("--batch-size", type=int, default=1,
                        help="with --checkpoint: sequences tracked in lockstep")
    parser.add_argument("--toolkit", default=None, choices=ope_metrics.CONVENTIONS,
                        help="OPE conventions: lasot (MATLAB toolkit, default), got10k, "
                             "trackingnet")
    parser.add_argument("--sequences", default=None, help="comma-separated subset of names")
    parser.add_argument("--frame-stride", type=int, default=1,
                        help="track (with --checkpoint) and score only frames 1, 1+k, 1+2k, ... "
                             "(OPE benchmarks); the released DMTrack LaSOT protocol is 10. "
                             "Default 1: every frame, the benchmarks' own protocol")
    parser.add_argument("--present-threshold", type=float, default=None,
                        help="OxUvA: confidence from which the target is reported present")
    parser.add_argument("--json", default=None, help="write the scores here")
    parser.add_argument("--plot-dir", default=None, help="write comparison plots (PNG) here")
    parser.set_defaults(func=run, accepts_overrides=True)
