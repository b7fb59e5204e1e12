"""Write synthetic videos to disk in the real dataset layouts (DESIGN.md section 7).

Why: the readers, the tfds builders and the evaluation code are only trustworthy if they are
exercised on files that look exactly like LaSOT / GOT-10k / TrackingNet / MOT17 / COCO. The
writers consume videos one at a time (an iterable), so a large dataset never sits in memory.

Every file is written atomically (temp file in the same directory, then os.replace), so an
interrupted run never leaves a half-written annotation that a reader would half-parse.

Absent target frames are written as `0,0,0,0` rows by default (zero-area boxes, which the
readers treat as absent) or as `nan,nan,nan,nan` rows with ``absent_box="nan"`` (the VOT-LT
convention); both are also flagged in the dataset's own absence files where it has them.
"""

from __future__ import annotations

import configparser
import io
import json
import os
from typing import Callable, Iterable

import cv2
import numpy as np

from data_pipelines.synthetic import SyntheticVideo, iter_dataset
from dmtrack_common.fileio import write_bytes_atomic, write_text_atomic

MOT_PEDESTRIAN_CLASS = 1
MOT_OCCLUDER_CLASS = 9  # "occluder" in the MOT17 class list; written with flag 0 (ignore)
# Occluders get MOT ids far above any object id so they never collide.
MOT_OCCLUDER_ID_BASE = 1_000_000
JPEG_QUALITY = 95


# ----------------------------------------------------------------------------- atomic io


def atomic_write_bytes(path: str, data: bytes) -> None:
    write_bytes_atomic(path, data)


def atomic_write_text(path: str, text: str) -> None:
    write_text_atomic(path, text)


def write_jpeg(path: str, rgb: np.ndarray) -> None:
    # 4:4:4 chroma: the objects are small, and 4:2:0 would smear their colours into the background.
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, encoded = cv2.imencode(".jpg", rgb[..., ::-1], params)
    if not ok:
        raise ValueError(f"could not encode image for {path}")
    atomic_write_bytes(path, encoded.tobytes())


def _format_number(value: float) -> str:
    if not np.isfinite(value):
        return "nan"
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"


def format_box_rows(boxes: np.ndarray, absent: np.ndarray, absent_box: str, delimiter: str) -> str:
    """One `x,y,w,h` line per frame; absent frames as zeros or nan per `absent_box`."""
    if absent_box not in ("zeros", "nan"):
        raise ValueError(f"absent_box must be 'zeros' or 'nan', got {absent_box!r}")
    filler = "0" if absent_box == "zeros" else "nan"
    lines = []
    for box, is_absent in zip(boxes, absent):
        if is_absent or not np.all(np.isfinite(box)):
            lines.append(delimiter.join([filler] * 4))
        else:
            lines.append(delimiter.join(_format_number(v) for v in box))
    return "\n".join(lines) + "\n"


def _target_rows(video: SyntheticVideo) -> tuple[np.ndarray, np.ndarray]:
    return video.boxes[:, 0], video.target_absent


def _cover_levels(video: SyntheticVideo) -> np.ndarray:
    """GOT-10k cover level: 0 = target fully hidden, 1..8 = visible fraction in eighths."""
    fraction = np.clip(video.visibility[:, 0], 0.0, 1.0)
    levels = np.clip(np.ceil(fraction * 8), 1, 8).astype(np.int64)
    levels[video.target_absent] = 0
    return levels


def _cut_by_image(video: SyntheticVideo) -> np.ndarray:
    height, width = video.frames.shape[1:3]
    box = video.full_boxes[:, 0]
    cut = (box[:, 0] < 0) | (box[:, 1] < 0) | (box[:, 0] + box[:, 2] > width) | (box[:, 1] + box[:, 3] > height)
    return cut & ~video.target_absent


# ----------------------------------------------------------------------------- layouts


def write_lasot(
    root: str, videos: Iterable[SyntheticVideo], *, absent_box: str = "zeros", delimiter: str = ",",
    training_set: bool = False,
) -> list[str]:
    """`<root>/<class>/<class>-<k>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt,
    nlp.txt, img/00000001.jpg}`; the flag files are one comma-separated line as in LaSOT.

    With `training_set`, `<root>/training_set.txt` lists every sequence written (sorted): a
    synthetic set has no official split, and the LaSOT reader's training split (training's
    default) reads that file where it exists; without it, training looks for the official
    LaSOT training names, which a synthetic set does not have.
    """
    written = []
    per_class: dict[str, int] = {}
    for video in videos:
        per_class[video.object_class] = per_class.get(video.object_class, 0) + 1
        name = f"{video.object_class}-{per_class[video.object_class]}"
        sequence_dir = os.path.join(root, video.object_class, name)
        for index, frame in enumerate(video.frames, start=1):
            write_jpeg(os.path.join(sequence_dir, "img", f"{index:08d}.jpg"), frame)
        boxes, absent = _target_rows(video)
        atomic_write_text(
            os.path.join(sequence_dir, "groundtruth.txt"), format_box_rows(boxes, absent, absent_box, delimiter)
        )
        atomic_write_text(
            os.path.join(sequence_dir, "full_occlusion.txt"),
            ",".join(str(int(v)) for v in video.full_occlusion) + "\n",
        )
        atomic_write_text(
            os.path.join(sequence_dir, "out_of_view.txt"),
            ",".join(str(int(v)) for v in video.out_of_view) + "\n",
        )
        atomic_write_text(
            os.path.join(sequence_dir, "nlp.txt"),
            f"the striped {video.object_class} that moves among look-alikes\n",
        )
        written.append(sequence_dir)
    if training_set:
        atomic_write_text(os.path.join(root, "training_set.txt"),
                          "".join(name + "\n" for name in sorted(map(os.path.basename, written))))
    return written


def write_got10k(
    root: str,
    videos: Iterable[SyntheticVideo],
    *,
    split: str = "train",
    absent_box: str = "zeros",
    delimiter: str = ",",
) -> list[str]:
    """`<root>/<split>/list.txt` and per sequence `%08d.jpg`, `groundtruth.txt`,
    `absence.label`, `cover.label`, `cut_by_image.label`, `meta_info.ini`."""
    split_dir = os.path.join(root, split)
    names: list[str] = []
    for video in videos:
        name = f"GOT-10k_{split.capitalize()}_{len(names) + 1:06d}"
        sequence_dir = os.path.join(split_dir, name)
        for index, frame in enumerate(video.frames, start=1):
            write_jpeg(os.path.join(sequence_dir, f"{index:08d}.jpg"), frame)
        boxes, absent = _target_rows(video)
        atomic_write_text(
            os.path.join(sequence_dir, "groundtruth.txt"), format_box_rows(boxes, absent, absent_box, delimiter)
        )
        atomic_write_text(
            os.path.join(sequence_dir, "absence.label"), "".join(f"{int(v)}\n" for v in absent)
        )
        atomic_write_text(
            os.path.join(sequence_dir, "cover.label"), "".join(f"{v}\n" for v in _cover_levels(video))
        )
        atomic_write_text(
            os.path.join(sequence_dir, "cut_by_image.label"), "".join(f"{int(v)}\n" for v in _cut_by_image(video))
        )
        height, width = video.frames.shape[1:3]
        meta = {
            "url": "synthetic",
            "begin": "00:00:00",
            "end": "00:00:00",
            "anno_fps": "10Hz",
            "object_class": video.object_class,
            "motion_class": "moving",
            "major_class": "synthetic",
            "root_class": "object",
            "motion_adverb": "smoothly",
            "resolution": f"({width}, {height})",
        }
        # GOT-10k writes `key: value` lines under a [METAINFO] header.
        atomic_write_text(
            os.path.join(sequence_dir, "meta_info.ini"),
            "[METAINFO]\n" + "".join(f"{key}: {value}\n" for key, value in meta.items()),
        )
        names.append(name)
    atomic_write_text(os.path.join(split_dir, "list.txt"), "".join(f"{n}\n" for n in names))
    return [os.path.join(split_dir, n) for n in names]


def write_trackingnet(
    root: str,
    videos: Iterable[SyntheticVideo],
    *,
    chunk: str = "TRAIN_0",
    absent_box: str = "zeros",
    delimiter: str = ",",
) -> list[str]:
    """`<root>/<chunk>/anno/<video>.txt` and `<root>/<chunk>/frames/<video>/<i>.jpg`, i from 0."""
    written = []
    for index, video in enumerate(videos):
        name = f"synth_{index:05d}"
        for i, frame in enumerate(video.frames):
            write_jpeg(os.path.join(root, chunk, "frames", name, f"{i}.jpg"), frame)
        boxes, absent = _target_rows(video)
        atomic_write_text(
            os.path.join(root, chunk, "anno", f"{name}.txt"), format_box_rows(boxes, absent, absent_box, delimiter)
        )
        written.append(os.path.join(root, chunk, "frames", name))
    return written


def write_mot17(root: str, videos: Iterable[SyntheticVideo], *, split: str = "train") -> list[str]:
    """`<root>/<split>/<seq>/{img1/%06d.jpg, gt/gt.txt, seqinfo.ini}`.

    gt rows: frame, id, left, top, width, height, flag, class, visibility, sorted by id then
    frame as in MOT17. Every object (class 1, flag 1) has a row on each frame where its box
    touches the image, even when fully occluded (visibility 0), with the unclipped box; the
    occluders are written as class 9 with flag 0, which readers must ignore.
    """
    written = []
    for index, video in enumerate(videos):
        name = f"SYNTH-{index + 1:02d}"
        sequence_dir = os.path.join(root, split, name)
        num_frames, height, width = video.frames.shape[:3]
        for i, frame in enumerate(video.frames, start=1):
            write_jpeg(os.path.join(sequence_dir, "img1", f"{i:06d}.jpg"), frame)
        rows = []
        full = video.full_boxes
        for k, identity in enumerate(video.ids):
            for t in range(num_frames):
                x, y, w, h = full[t, k]
                if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
                    continue  # out of view: MOT lists no row
                rows.append(
                    f"{t + 1},{int(identity)},{_format_number(x)},{_format_number(y)},"
                    f"{_format_number(w)},{_format_number(h)},1,{MOT_PEDESTRIAN_CLASS},"
                    f"{video.visibility[t, k]:.6f}"
                )
        occluders = video.scene.occluder_boxes
        for j in range(occluders.shape[1]):
            for t in range(num_frames):
                x, y, w, h = occluders[t, j]
                if w <= 0 or x + w <= 0 or y + h <= 0 or x >= width or y >= height:
                    continue
                rows.append(
                    f"{t + 1},{MOT_OCCLUDER_ID_BASE + j},{x},{y},{w},{h},0,{MOT_OCCLUDER_CLASS},1.000000"
                )
        atomic_write_text(os.path.join(sequence_dir, "gt", "gt.txt"), "\n".join(rows) + "\n")
        info = configparser.ConfigParser()
        info.optionxform = str  # keep MOT's camelCase keys
        info["Sequence"] = {
            "name": name,
            "imDir": "img1",
            "frameRate": "30",
            "seqLength": str(num_frames),
            "imWidth": str(width),
            "imHeight": str(height),
            "imExt": ".jpg",
        }
        buffer = io.StringIO()
        info.write(buffer, space_around_delimiters=False)
        atomic_write_text(os.path.join(sequence_dir, "seqinfo.ini"), buffer.getvalue())
        written.append(sequence_dir)
    return written


def write_coco(root: str, videos: Iterable[SyntheticVideo], *, split: str = "train2017") -> list[str]:
    """`<root>/annotations/instances_<split>.json` + `<root>/<split>/<file_name>`: every frame
    becomes one image whose annotations are the visible objects (clipped boxes, iscrowd 0)."""
    images, annotations, categories = [], [], {}
    written = []
    for video in videos:
        category_id = categories.setdefault(video.object_class, len(categories) + 1)
        for t, frame in enumerate(video.frames):
            image_id = len(images) + 1
            file_name = f"{image_id:012d}.jpg"
            write_jpeg(os.path.join(root, split, file_name), frame)
            images.append(
                {"id": image_id, "file_name": file_name, "height": int(frame.shape[0]), "width": int(frame.shape[1])}
            )
            for k in np.flatnonzero(video.visible[t]):
                x, y, w, h = (float(v) for v in video.boxes[t, k])
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category_id,
                        "bbox": [x, y, w, h],
                        "area": float(w * h),
                        "iscrowd": 0,
                    }
                )
            written.append(os.path.join(root, split, file_name))
    document = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": "synthetic"} for n, i in categories.items()],
    }
    atomic_write_text(os.path.join(root, "annotations", f"instances_{split}.json"), json.dumps(document))
    return written


WRITERS: dict[str, Callable[..., list[str]]] = {
    "lasot": write_lasot,
    "got10k": write_got10k,
    "trackingnet": write_trackingnet,
    "mot17": write_mot17,
    "coco": write_coco,
}


def write_dataset(
    out_dir: str,
    format: str,  # noqa: A002 - the brief's name; mirrors the CLI flag
    sequences: int,
    frames: int,
    seed: int,
    image_size: tuple[int, int] = (160, 224),
    num_distractors: int = 3,
    *,
    progress: bool = False,
    preset: str = "default",
    **writer_options,
) -> list[str]:
    """Generate `sequences` videos (`synthetic.iter_dataset`) and write them in a real layout.

    `format`: 'lasot' | 'got10k' | 'trackingnet' | 'mot17' | 'coco'. `writer_options` go to
    the layout writer (e.g. absent_box='nan', delimiter='\\t'). Returns the written sequence
    directories (COCO: image files). `preset`: the generator's ('default' or 'lasot-like').
    Raises ValueError for an unknown format.
    """
    if format not in WRITERS:
        raise ValueError(f"unknown format {format!r}; expected one of {sorted(WRITERS)}")
    videos = iter_dataset(sequences, frames, seed, image_size, num_distractors, preset)
    if progress:
        from tqdm import tqdm

        videos = tqdm(videos, total=sequences, desc=f"synth {format}", unit="seq")
    return WRITERS[format](out_dir, videos, **writer_options)
