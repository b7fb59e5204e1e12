"""`dmtrack track VIDEO_OR_FRAME_DIR --box x,y,w,h --checkpoint C --out results.txt`.

Writes one `x,y,w,h,confidence` row per frame, 3 decimals (frame 1 is the given box with
confidence 1; w = x2 - x1 + 1 under the released `box_convention='pixel_inclusive'`),
atomically; optionally an annotated video with the target box and confidence in green and the
distractor tracklets in red.
"""

from __future__ import annotations

import pathlib
import time
import cv2
import numpy as np
from tqdm import tqdm

from dmtrack_common.fileio import write_text_atomic
from dmtrack_common.frames import count_frames, read_frames


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


def write_rows_atomic(path: pathlib.Path, rows) -> None:
    lines = [",".join(f"{v:.3f}" for v in box) + f",{confidence:.4f}\n" for box, confidence in rows]
    write_text_atomic(path, "".join(lines))


def run(args) -> int:
    from dmtrack_jax.tracking.tracker import Tracker

    source = pathlib.Path(args.source)
    box = parse_box(args.box)
    frames = read_frames(source)
    first = next(frames)  # raises a clear error for empty folders / unreadable videos
    # Refuses a bad --config override (one line, naming the field) before the weights load.
    tracker = Tracker.from_checkpoint(args.checkpoint, config_overrides=args.overrides)
    absent_confidence = tracker.tracker_config.absent_confidence
    tracker.initialize(first, box)
    rows = [(box, 1.0)]
    writer = None
    if args.video:
        height, width = first.shape[:2]
        pathlib.Path(args.video).parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(args.video), cv2.VideoWriter_fourcc(*"mp4v"), args.fps,
                                 (width, height))
        writer.write(draw_frame(first, box, 1.0, [], absent_confidence))
    total = count_frames(source)
    start = time.time()
    with tqdm(total=total or None, initial=1, desc="track", unit="frame") as bar:
        for frame in frames:
            out_box, confidence = tracker.track(frame)
            rows.append((out_box, confidence))
            if writer is not None:
                writer.write(draw_frame(frame, out_box, confidence, tracker.distractor_boxes(),
                                        absent_confidence))
            bar.update(1)
            bar.set_postfix(fps=f"{(len(rows) - 1) / max(time.time() - start, 1e-9):.1f}")
    if writer is not None:
        writer.release()
    write_rows_atomic(pathlib.Path(args.out), rows)
    print(f"wrote {len(rows)} rows to {args.out}" + (f" and {args.video}" if args.video else ""))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "track", help="track one target through a video or a folder of frames",
        description="Track a target given its first-frame box. Tracker settings can be "
                    "overridden with --config.tracker.FIELD=VALUE.")
    parser.add_argument("source", help="a video file or a folder of image frames")
    parser.add_argument("--box", required=True, help="first-frame box x,y,w,h (pixels)")
    parser.add_argument("--checkpoint", required=True,
                        help="a training workdir (newest step) or an exported checkpoint folder")
    parser.add_argument("--out", required=True, help="result file: x,y,w,h,confidence per frame")
    parser.add_argument("--video", default="", help="also write an annotated video (mp4)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of --video")
    parser.set_defaults(func=run, accepts_overrides=True)
