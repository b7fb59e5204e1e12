"""`dmtrack track VIDEO_OR_FRAME_DIR --box x,y,w,h --checkpoint C --out RESULTS_DIR`.

Results (the layout every entry point writes and `dmtrack eval --results-dir` scores as is;
`eval.result_files`): `RESULTS_DIR/<name>.txt`, one `x,y,w,h` row per frame with 4 decimals
(frame 1 is the given box; w = x2 - x1 + 1 under the released `box_convention='pixel_inclusive'`), `<name>_confidence.value` (one confidence per frame, 1 on frame 1) and
`<name>_time.txt` (seconds per frame). `<name>` is `--name`, else the video's file stem or the
frame folder's name (its parent's for a folder called `img`, as in LaSOT/OTB:
`airplane-1/img` -> `airplane-1`). `--out RESULTS_DIR/<name>.txt` names both at once.

Several targets: `--box` repeated and/or `--boxes FILE` (one `x,y,w,h` or `x,y,w,h,name` row
per target, after the `--box` ones) track K targets with ONE backbone pass per frame (the K
heads vmapped in one jitted call, each target its own association; in `reid` mode a candidate
claimed by one target is a distractor for the others). Each target is a sequence of its own in
the same layout: `<name>_<k>.txt` (k = 1..K, its position) or `<name>_<row name>.txt`, with
`_confidence.value` and `_time.txt` (the frame's time, which served every target) and its own
`.partial` file (each is the result of a sequence named `<name>_<k>` for `dmtrack eval`). A
single `--box` keeps
`<name>.txt`. The video draws target k in its own colour, labelled `k:confidence` (thin when
judged absent; distractors are drawn only for a single target). Targets cannot be added or
dropped mid-video.

Nothing tracked is lost: each row goes to `RESULTS_DIR/<name>.partial` as soon as its frame
is tracked (flushed every frame), and the result files replace it when the sequence ends. On
SIGINT, SIGTERM or an error mid-sequence the partial file stays, the annotated video is
finalised (it plays, with the frames tracked so far) and one line says where and how many
frames; the exit code is 128 + the signal (130, 143) or 2 (a frame that cannot be read).

Resume: re-running the same command continues a partial result. The tracker's state (kernels
from frame 1, tracklets, Kalman filters, smoothed embeddings) cannot be rebuilt from rows, so
the tracker is initialised on frame 1 again and the saved frames are tracked again without
being written, each checked against its saved row (a mismatch means another checkpoint,
setting or source: refused, naming the frame); new rows are appended from the first unsaved
frame. The resumed result therefore equals an uninterrupted run's row for row; what resuming
saves is the rows already written, not the time to track them. `--overwrite` starts afresh
(and replaces a finished result, which is otherwise refused).

Everything the run will write is checked before the first frame is tracked: the results
folder can be created and written, `<name>.txt` is not a folder, `--video` has a supported
extension (dmtrack_apps.video) and its folder is writable.
"""

from __future__ import annotations

import math
import os
import pathlib
import signal
import sys
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
from tqdm import tqdm

from dmtrack_apps.errors import UserError
from dmtrack_common.fileio import check_writable_dir
from dmtrack_common.frames import IMAGE_SUFFIXES, count_frames, read_frames


def parse_box(text: str) -> np.ndarray:
    parts = text.replace(" ", "").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise ValueError(f"--box must be four numbers x,y,w,h; got {text!r}")
    return np.asarray(values)


def draw_frame(frame_rgb, box, confidence, distractors, absent_threshold) -> np.ndarray:
    image = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    for x, y, w, h in np.asarray(distractors).reshape(-1, 4):
        cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), (0, 0, 255), 1)
    x, y, w, h = box
    color = (0, 200, 0) if confidence >= absent_threshold else (0, 200, 255)
    cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), color, 2)
    cv2.putText(image, f"{confidence:.2f}", (int(x), max(int(y) - 4, 10)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    return image


def default_name(source: pathlib.Path) -> str:
    """The sequence name of a source: a video's stem; a frame folder's name, or its parent's
    when the folder is called `img` (LaSOT, OTB)."""
    source = pathlib.Path(source).absolute()
    if source.is_dir():
        return source.parent.name if source.name.lower() == "img" else source.name
    return source.stem


def result_location(out: str, name: str | None, source) -> tuple[pathlib.Path, str]:
    """(results folder, sequence name) from `--out` (a folder, or `<folder>/<name>.txt`)."""
    out_path = pathlib.Path(out)
    if out_path.suffix.lower() == ".txt":
        if name and name != out_path.stem:
            raise ValueError(f"--out {out} names the sequence {out_path.stem!r} but --name is "
                             f"{name!r}; give one of them")
        return out_path.parent, out_path.stem
    if out_path.suffix.lower() in IMAGE_SUFFIXES + (".mp4", ".avi", ".mov", ".mkv", ".csv"):
        raise ValueError(f"--out {out}: takes a results folder (or FOLDER/NAME.txt), not a "
                         f"{out_path.suffix} file")
    name = name or default_name(source)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"--name {name!r}: not a usable file name")
    return out_path, name


def smallest_box_side(frame_hw, input_hw, strides) -> int:
    """The smallest box side (pixels of the frame) that the network sees as at least one cell
    of its finest feature level: frames are scaled by min(H_in/H, W_in/W) into the input."""
    scale = min(input_hw[0] / frame_hw[0], input_hw[1] / frame_hw[1])
    return int(math.ceil(min(strides) / scale))


class _StopOnSignal:
    """SIGINT/SIGTERM set `signum`; the tracking loop stops after the current frame. A second
    SIGINT interrupts at once (KeyboardInterrupt). Installed only in the main thread."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):  # noqa: ARG002
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _warn(message: str) -> None:
    tqdm.write(f"warning: {message}", file=sys.stderr)


def _synthetic_note(config, checkpoint) -> str | None:
    from dmtrack_jax.checkpoint_io import trained_only_on_synthetic

    if not trained_only_on_synthetic(config):
        return None
    return (f"note: {checkpoint} was trained only on synthetic data (data.sources: synthetic); "
            f"it knows only synthetic scenes and will not follow targets in real video. For "
            f"real video convert the released weights: dmtrack convert dmtrack_gs.pth DIR, "
            f"then --checkpoint DIR (README: Tracking your own video)")


def read_boxes_file(path) -> tuple[list[np.ndarray], list[str | None]]:
    """`--boxes FILE`: one target per non-empty line, `x,y,w,h` or `x,y,w,h,name` (`#` starts
    a comment). Returns the boxes and the names (None where the row has none). Raises
    ValueError (one line, naming the file and line) for anything else."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"--boxes {path}: cannot be read ({err.strerror or err})") from None
    boxes, names = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            if len(parts) not in (4, 5):
                raise ValueError
            box = np.asarray([float(v) for v in parts[:4]])
        except ValueError:
            raise ValueError(f"--boxes {path}:{number}: expected x,y,w,h or x,y,w,h,name, got "
                             f"{line!r}") from None
        name = parts[4] if len(parts) == 5 else None
        if name is not None and (not name or "/" in name or name.startswith(".")):
            raise ValueError(f"--boxes {path}:{number}: {name!r} is not a usable target name")
        boxes.append(box)
        names.append(name)
    if not boxes:
        raise ValueError(f"--boxes {path}: no target rows (one x,y,w,h[,name] per line)")
    return boxes, names


def target_names(name: str, row_names: list[str | None]) -> list[str]:
    """The result names of K targets of sequence `name`: `<name>_<k>` (k = 1..K, the target's
    position: --box ones first, then --boxes rows) or `<name>_<row name>`."""
    names = [f"{name}_{row or k}" for k, row in enumerate(row_names, start=1)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"two targets would both write {repeated[0]}.txt; give distinct "
                         f"names in --boxes")
    return names


# BGR colours of targets 1, 2, ... in the annotated video (cycled beyond 10).
TARGET_COLOURS = [(0, 200, 0), (255, 128, 0), (0, 128, 255), (255, 0, 255), (0, 255, 255),
                  (128, 0, 255), (255, 255, 0), (0, 0, 200), (128, 255, 128), (200, 200, 200)]


def draw_targets(frame_rgb, boxes, confidences, absent_threshold) -> np.ndarray:
    """The frame (BGR) with target k's box in its own colour, labelled `k:confidence`
    (k = 1..K); an absent target (confidence below `absent_threshold`) is drawn thin."""
    image = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    for k, ((x, y, w, h), confidence) in enumerate(zip(boxes, confidences), start=1):
        colour = TARGET_COLOURS[(k - 1) % len(TARGET_COLOURS)]
        present = confidence >= absent_threshold
        cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), colour,
                      2 if present else 1)
        cv2.putText(image, f"{k}:{confidence:.2f}", (int(x), max(int(y) - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return image


def run(args) -> int:
    import flax.errors

    from dmtrack_apps.video import VideoWriter, check_video_path
    from dmtrack_jax.tracking.tracker import Tracker
    from eval.result_files import PartialOpeResult, ope_result_path

    source = pathlib.Path(args.source)
    boxes = [parse_box(text) for text in (args.box or [])]
    row_names: list[str | None] = [None] * len(boxes)
    if args.boxes:
        file_boxes, file_names = read_boxes_file(args.boxes)
        boxes, row_names = boxes + file_boxes, row_names + file_names
    if not boxes:
        raise ValueError("give the first-frame box: --box x,y,w,h (repeat for more targets) "
                         "or --boxes FILE")
    # One --box: one target, `<name>.txt`. Several, or --boxes: `<name>_<k>.txt` per target.
    multi = len(boxes) > 1 or bool(args.boxes)

    # 1. Every output location, before any frame is read or tracked.
    results_dir, name = result_location(args.out, args.name, source)
    check_writable_dir(results_dir, "--out")
    names = target_names(name, row_names) if multi else [name]
    for target_name in names:
        result_path = ope_result_path(results_dir, target_name)
        if result_path.is_dir():
            raise ValueError(f"--out: {result_path} is an existing folder; the result file "
                             f"{target_name}.txt cannot be written there")
    video_path = None
    if args.video:
        video_path = check_video_path(args.video)
        check_writable_dir(video_path.parent, "--video")
    partials = [PartialOpeResult(results_dir, n) for n in names]
    saved_rows = [np.zeros((0, 6)) for _ in names]
    if not args.overwrite:
        for target_name in names:
            result_path = ope_result_path(results_dir, target_name)
            if result_path.is_file():
                raise ValueError(f"{result_path} already holds a finished result; pass "
                                 f"--overwrite to track again, or --out another folder")
        for k, (partial, box) in enumerate(zip(partials, boxes)):
            saved_rows[k] = partial.rows()
            if len(saved_rows[k]) and not np.allclose(saved_rows[k][0, :4], box, atol=1e-3):
                raise ValueError(f"{partial.path} was started from the box "
                                 f"{','.join(f'{v:g}' for v in saved_rows[k][0, :4])}, not "
                                 f"--box {','.join(f'{v:g}' for v in box)}; pass --overwrite "
                                 f"to start afresh")
    # Resume from the frames every target has (their partial files grow together).
    saved_count = min(len(rows) for rows in saved_rows)
    saved = [rows[:saved_count] for rows in saved_rows]
    partial = partials[0]

    # 2. The source, then the model (a bad --config override is refused before the weights).
    frames = read_frames(source, on_warning=_warn)
    first = next(frames)  # raises a clear error for empty folders / unreadable videos
    tracker = Tracker.from_checkpoint(args.checkpoint, config_overrides=args.overrides)
    config = tracker.config
    note = _synthetic_note(config, args.checkpoint)
    if note:
        print(note, file=sys.stderr)
    absent_confidence = tracker.tracker_config.absent_confidence
    smallest = smallest_box_side(first.shape[:2], tracker.input_hw, config.model.strides)
    for box in boxes:
        if min(box[2], box[3]) < smallest:
            _warn(f"the box {box[2]:g}x{box[3]:g} px is smaller than this model can see: "
                  f"frames of {first.shape[1]}x{first.shape[0]} are scaled into its "
                  f"{tracker.input_hw[1]}x{tracker.input_hw[0]} input, where its finest stride "
                  f"is {min(config.model.strides)} px; boxes of at least {smallest}x{smallest} "
                  f"px make sense")
    if saved_count:
        where_saved = partial.path if not multi else f"{len(partials)} partial files"
        print(f"resuming {name}: {where_saved} hold{'s' if not multi else ''} {saved_count} "
              f"frames from an interrupted run. The tracker's state cannot be restored from "
              f"rows, so frames 1-{saved_count} are tracked again (checked against the saved "
              f"rows, not rewritten) and new rows follow from frame {saved_count + 1}.",
              file=sys.stderr)
    start = time.perf_counter()
    try:
        tracker.initialize(first, np.stack(boxes) if multi else boxes[0])
    except (flax.errors.FlaxError, TypeError) as err:
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise UserError(f"--checkpoint {args.checkpoint}: its variables do not fit the model "
                        f"its config.json describes ({type(err).__name__}: {first_line})") from err
    init_seconds = time.perf_counter() - start

    # 3. Track, writing every row as it comes.
    for p, box in zip(partials, boxes):
        if saved_count:
            p.open(keep=saved_count)
        else:
            p.open()
            p.append(box, 1.0, init_seconds)
    written = max(saved_count, 1)

    def draw(frame, results):
        if not multi:
            return draw_frame(frame, results[0].box, results[0].confidence,
                              results[0].distractors, absent_confidence)
        return draw_targets(frame, [r.box for r in results], [r.confidence for r in results],
                            absent_confidence)

    video = None
    if video_path is not None:
        video = VideoWriter(video_path, first.shape[1::-1], args.fps, log=_warn)
        video.write(draw(first, [SimpleNamespace(box=b, confidence=1.0,
                                                 distractors=np.zeros((0, 4))) for b in boxes]))
    total = count_frames(source)
    read = 1
    stop = _StopOnSignal()
    failure: BaseException | None = None
    t0 = time.time()
    try:
        with stop, tqdm(total=total or None, initial=1, desc=f"track {name}", unit="frame",
                        file=sys.stderr) as bar:
            for index, frame in enumerate(frames, start=1):
                read += 1
                start = time.perf_counter()
                results = tracker.track(frame)
                results = results if multi else [results]
                seconds = time.perf_counter() - start
                if index < saved_count:
                    for p, rows, result in zip(partials, saved, results):
                        out_box, confidence = result.box, result.confidence
                        if not (np.allclose(out_box, rows[index, :4], atol=1e-3)
                                and abs(confidence - rows[index, 4]) < 1e-4):
                            raise UserError(
                                f"cannot resume: frame {index + 1} tracks to "
                                f"{','.join(f'{v:.4f}' for v in out_box)} ({confidence:.4f}) "
                                f"but {p.path} holds "
                                f"{','.join(f'{v:.4f}' for v in rows[index, :4])}"
                                f" ({rows[index, 4]:.4f}): it was written with another "
                                f"checkpoint, setting or source; pass --overwrite to start "
                                f"afresh")
                else:
                    # One network call served every target: each row gets the frame's time.
                    for p, result in zip(partials, results):
                        p.append(result.box, result.confidence, seconds)
                    written += 1
                if video is not None:
                    video.write(draw(frame, results))
                bar.update(1)
                bar.set_postfix(fps=f"{(read - 1) / max(time.time() - t0, 1e-9):.1f}")
                if stop.signum is not None:
                    break
    except BaseException as err:  # noqa: BLE001 - rows and video are kept, then reported
        failure = err
    for p in partials:
        p.close()
    video_note = ""
    if video is not None:
        closed = video.close()
        video_note = f"; video: {closed} ({video.frames} frames)" if closed else ""
    in_files = (partial.path if not multi else
                f"{', '.join(str(p.path) for p in partials)}")
    where = (f"the {written} frames tracked are in {in_files}{video_note}; run the same "
             f"command again to resume")
    if failure is None and stop.signum is not None:
        print(f"dmtrack track: stopped by {signal.Signals(stop.signum).name} after frame {read}"
              f"{f' of {total}' if total else ''}: {where}", file=sys.stderr)
        return 128 + int(stop.signum)
    if isinstance(failure, UserError):
        raise failure
    if isinstance(failure, KeyboardInterrupt):
        print(f"dmtrack track: interrupted after frame {read}: {where}", file=sys.stderr)
        return 130
    if isinstance(failure, (ValueError, OSError)):
        raise UserError(f"{failure}; tracking stopped there: {where}") from failure
    if failure is not None:
        if os.environ.get("DMTRACK_DEBUG"):
            raise failure
        print(f"dmtrack track: unexpected error at frame {read + 1}: "
              f"{type(failure).__name__}: {failure}; {where} (DMTRACK_DEBUG=1 shows the "
              f"traceback)", file=sys.stderr)
        return 1
    if read < saved_count:
        raise UserError(f"{partial.path} holds {saved_count} frames but {source} has only "
                        f"{read}; pass --overwrite to start afresh")

    # 4. The result files replace the partial ones.
    paths = [p.finish() for p in partials]
    path = paths[0]
    if total and not source.is_dir() and read < total:
        _warn(f"{source} announces {total} frames but decoding stopped after {read} "
              f"(a truncated or damaged stream?): the result has {read} rows")
    if multi:
        print(f"wrote {read} rows for each of {len(paths)} targets: "
              f"{', '.join(str(p) for p in paths)} (each with its _confidence.value and "
              f"_time.txt)" + (f" and {video_path}" if video_path else ""))
    else:
        print(f"wrote {read} rows to {path} (with {name}_confidence.value and {name}_time.txt)"
              + (f" and {video_path}" if video_path else ""))
    if not multi:
        print(f"score it: dmtrack eval --benchmark lasot --root DATASET_ROOT --results-dir "
              f"{results_dir} --sequences {name} (add --split all when {name} is not one of "
              f"the LaSOT test sequences, e.g. dmtrack synth data)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "track", help="track one target through a video or a folder of frames",
        description="Track a target given its first-frame box. Writes RESULTS_DIR/NAME.txt "
                    "(x,y,w,h per frame), NAME_confidence.value and NAME_time.txt, the layout "
                    "`dmtrack eval --results-dir` scores. Rows are kept on interruption and a "
                    "re-run resumes. Tracker settings can be overridden with "
                    "--config.tracker.FIELD=VALUE.")
    parser.add_argument("source", help="a video file or a folder of image frames")
    parser.add_argument("--box", action="append", default=None,
                        help="first-frame box x,y,w,h (pixels; may start left of or above the "
                             "frame, e.g. --box -20,10,100,100); repeat for several targets "
                             "(one backbone pass per frame for all): NAME_1.txt, NAME_2.txt, ...")
    parser.add_argument("--boxes", default=None,
                        help="a file of targets, one x,y,w,h or x,y,w,h,name row each (after "
                             "any --box targets): NAME_<k>.txt or NAME_<name>.txt per target")
    parser.add_argument("--checkpoint", required=True,
                        help="a training workdir (newest step) or an exported checkpoint folder")
    parser.add_argument("--out", required=True,
                        help="results folder (or FOLDER/NAME.txt): NAME.txt, "
                             "NAME_confidence.value, NAME_time.txt")
    parser.add_argument("--name", default=None,
                        help="sequence name (default: the video's stem or the frame folder's "
                             "name; the parent's for a folder called img)")
    parser.add_argument("--overwrite", action="store_true",
                        help="track from frame 1 even if a finished or partial result exists")
    parser.add_argument("--video", default="",
                        help="also write an annotated video (.mp4, .mov, .mkv or .avi)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of --video")
    parser.set_defaults(func=run, accepts_overrides=True)
