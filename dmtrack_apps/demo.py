"""`dmtrack demo`: DMTrack on a held-out synthetic long-term benchmark with look-alike
distractors, occlusions and out-of-view periods, end to end.

1. writes the benchmark to disk in the LaSOT layout (a seed not used in training), by default
   from the generator's `lasot-like` preset (LaSOT's motion, absence and scale statistics;
   `--preset default` gives the short busy videos of the earlier demo);
2. tracks every sequence with the shipped tiny model (`checkpoints/tiny`), B sequences in
   lockstep, running the network once per frame and the association once per selection mode
   (`reid`: the full tracker; `top1`: the released tracker; `position`: nearest to the last box);
3. writes LaSOT-format result files, scores them with the LaSOT toolkit's conventions
   (success, precision, normalised precision) and OxUvA-style TPR/TNR/MaxGM from the
   confidences, draws success/precision plots and an annotated video of one sequence;
4. prints the table and the paths.

Like the CLI entry points, this module is a composition root: it is the one place (with
`dmtrack train`) where `dmtrack_jax` meets `data_pipelines` and `eval`.
"""

from __future__ import annotations

import pathlib
import time

import numpy as np

from data_pipelines.synthetic import PRESETS

DEFAULT_CHECKPOINT = pathlib.Path(__file__).resolve().parent.parent / "checkpoints" / "tiny"
DEMO_SEED = 20_261_124  # the training data uses seed 0 and the validation 10_000+
MODES = ("reid", "top1", "position")


def _mode_configs(tracker_config) -> dict:
    configs = {}
    for mode in MODES:
        config = tracker_config.copy_and_resolve_references()
        config.selection_mode = mode
        configs[mode] = config
    return configs


def write_annotated_video(path: pathlib.Path, video, tracked, distractors, absent_confidence,
                          fps: float = 10.0) -> None:
    import cv2

    from dmtrack_common.fileio import atomic_path
    from dmtrack_apps.track import draw_frame
    from dmtrack_apps.video import VideoWriter

    height, width = video.frames.shape[1:3]
    with VideoWriter(path, (width, height), fps) as writer:  # H.264 where imageio-ffmpeg is
        for t, frame in enumerate(video.frames):
            others = distractors[t - 1] if t >= 1 and t - 1 < len(distractors) else []
            image = draw_frame(frame, tracked.boxes[t], tracked.confidences[t], others,
                               absent_confidence)
            gt = video.boxes[t, 0]
            if np.all(np.isfinite(gt)):  # ground truth, thin white
                x, y, w, h = gt
                cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)),
                              (255, 255, 255), 1)
            writer.write(image)
    # A still of a frame with distractors around, for the README.
    still = video.frames.shape[0] // 2
    frame = draw_frame(video.frames[still], tracked.boxes[still], tracked.confidences[still],
                       distractors[still - 1] if still - 1 < len(distractors) else [],
                       absent_confidence)
    with atomic_path(path.with_suffix(".png")) as tmp:
        cv2.imwrite(str(tmp), cv2.resize(frame, None, fx=2, fy=2,
                                         interpolation=cv2.INTER_NEAREST))


def run(args) -> int:
    from data_pipelines.writers import write_dataset
    from dmtrack_apps import synthetic_eval
    from dmtrack_common.fileio import check_writable_dir, write_json_atomic, write_text_atomic
    from dmtrack_jax.tracking.tracker import BatchedTracker
    from eval import plots, result_files, scoring, synthetic_benchmark

    start = time.time()
    out = check_writable_dir(args.out, "--out")
    checkpoint = pathlib.Path(args.checkpoint)
    if not checkpoint.exists():
        raise FileNotFoundError(f"no checkpoint at {checkpoint} (train one with `dmtrack train "
                                f"--config configs/tiny.py --workdir W` and pass --checkpoint W)")
    # Refuses a bad --config override (one line, naming the field) before anything is written.
    tracker = BatchedTracker.from_checkpoint(checkpoint, config_overrides=args.overrides)
    config = tracker.config
    image_size = tuple(config.data.sources.synthetic.size)

    # 1. The benchmark, on disk in the LaSOT layout, plus the same videos in memory.
    root = out / "benchmark"
    print(f"[1/4] writing {args.sequences} synthetic sequences x {args.frames} frames "
          f"({image_size[1]}x{image_size[0]}, seed {args.seed}, preset {args.preset}) to {root}")
    write_dataset(str(root), "lasot", args.sequences, args.frames, args.seed, image_size,
                  progress=True, preset=args.preset)
    videos = synthetic_benchmark.make_videos(args.sequences, args.frames, image_size, args.seed,
                                             preset=args.preset)
    names = synthetic_benchmark.video_names(videos)
    write_text_atomic(root / "testing_set.txt", "\n".join(names) + "\n")

    # 2. Track: one network call per frame for the whole batch, one association per mode.
    print(f"[2/4] tracking with {checkpoint} (selection modes: {', '.join(MODES)})")
    t0 = time.time()
    tracked, distractors = synthetic_eval.track_videos_modes(
        tracker, videos, _mode_configs(config.tracker), batch_size=args.batch_size,
        progress=True, record=0)
    track_seconds = time.time() - t0
    frames_tracked = sum(len(v.frames) - 1 for v in videos)

    # 3. Result files in the layout `dmtrack track` writes (eval.result_files: NAME.txt,
    # NAME_confidence.value, NAME_time.txt); scored from disk like any tracker's. The network
    # ran once per frame for a batch and all modes, so each frame's time is that average.
    print("[3/4] scoring (LaSOT toolkit conventions; OxUvA-style from the confidences)")
    seconds_per_frame = track_seconds / max(frames_tracked * len(MODES), 1)
    table, scored = {}, {}
    for mode, results in tracked.items():
        results_dir = out / "results" / f"dmtrack_tiny_{mode}"
        for result in results:
            result_files.write_ope_result(results_dir, result.name, result.boxes,
                                          result.confidences,
                                          np.full(len(result.boxes), seconds_per_frame))
        scored[f"DMTrack-tiny ({mode})"] = scoring.score_results("lasot", root, results_dir,
                                                                 names=names)
        memory = synthetic_benchmark.score(videos, results, config.tracker.absent_confidence)
        table[mode] = {**scored[f"DMTrack-tiny ({mode})"]["scores"],
                       **{k: memory[k] for k in ("tpr", "tnr", "max_gm")}}
    plot_paths = plots.write_plots("lasot", scored, out / "plots")
    video_path = out / "annotated" / f"{names[0]}.mp4"
    write_annotated_video(video_path, videos[0], tracked["reid"][0], distractors,
                          config.tracker.absent_confidence)
    write_json_atomic(out / "scores.json", table)

    # 4. Report.
    print(f"[4/4] done in {time.time() - start:.0f} s; tracking {frames_tracked} frames x "
          f"{len(MODES)} modes took {track_seconds:.1f} s "
          f"({frames_tracked / max(track_seconds, 1e-9):.1f} frames/s, batch {args.batch_size})")
    header = f"{'selection':<10} {'success':>8} {'precision':>9} {'norm.prec':>9} " \
             f"{'TPR':>6} {'TNR':>6} {'MaxGM':>6}"
    print(header)
    print("-" * len(header))
    for mode, s in table.items():
        print(f"{mode:<10} {s['success']:8.3f} {s['precision']:9.3f} {s['norm_precision']:9.3f} "
              f"{s['tpr']:6.3f} {s['tnr']:6.3f} {s['max_gm']:6.3f}")
    print(f"benchmark:  {root}")
    print(f"results:    {out / 'results'}")
    print(f"scores:     {out / 'scores.json'}")
    for path in plot_paths:
        print(f"plot:       {path}")
    print(f"video:      {video_path} (green: target + confidence, red: distractor tracklets, "
          f"white: ground truth)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the end-to-end demo on synthetic data",
        description="Track a held-out synthetic distractor benchmark with the shipped tiny "
                    "model, score it and draw plots and an annotated video.")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                        help="training workdir or exported checkpoint (default: checkpoints/tiny)")
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=600,
                        help="frames per sequence (default 600)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--preset", choices=PRESETS, default="lasot-like",
                        help="synthetic generator preset (default lasot-like, which the shipped "
                             "model was trained on; 'default' is the short busy videos of the "
                             "earlier demo)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="sequences tracked in lockstep (one network call per frame)")
    parser.set_defaults(func=run, accepts_overrides=True)
