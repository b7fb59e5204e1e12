"""Read LaSOT, GOT-10k, TrackingNet, COCO and MOT17 into `structures.Sequence` lists.

One entry point, `read_dataset(name, root, split=None, annotations_only=False)`. Readers learn
frame counts and paths from the annotation files and the known naming pattern, so scoring code
(`annotations_only=True`) never touches an image. Without `annotations_only` they list each
frame directory once and fail loudly if a frame is missing; images themselves are decoded
later, by `dmtrack_common.frames.load_frame`, which names any unreadable file.

Conventions (DESIGN.md section 7 and the datasets' own files):
  * box files: one `x,y,w,h` row per frame, delimited by commas, tabs or spaces; a row of
    `nan` (VOT-LT) or a zero-area box (w or h == 0) means the target is absent; the stored box
    is then NaN. A negative width/height or a non-number is an error naming file and line.
  * absence: LaSOT full_occlusion.txt | out_of_view.txt; GOT-10k absence.label | cover == 0;
    TrackingNet has no labels, so only absent rows count.
  * MOT17: only rows with flag 1 and class 1 (pedestrian) with visibility > min_visibility are
    identities; other rows are skipped by design. The SOT fields of a MOT17 or COCO sequence
    are NaN/absent: their targets live in `tracks`.
  * COCO: one Sequence per image; crowd and degenerate (w or h <= 0, non-finite) boxes and
    images left without any box are skipped, and the counts are logged.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
from typing import Callable

import numpy as np

from data_pipelines.structures import Sequence

logger = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[,\t ;]+")


# ----------------------------------------------------------------------------- parsing


def _read_lines(path: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of every non-empty line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, encoding="utf-8") as stream:
        return [(number, line.strip()) for number, line in enumerate(stream, start=1) if line.strip()]


def _parse_numbers(path: str, number: int, line: str, expected: int | None) -> list[float]:
    fields = [f for f in _SEPARATORS.split(line) if f]
    if expected is not None and len(fields) != expected:
        raise ValueError(f"{path}:{number}: expected {expected} values, got {len(fields)} in {line!r}")
    try:
        values = [float(f) for f in fields]
    except ValueError:
        raise ValueError(f"{path}:{number}: not a number in {line!r}") from None
    if any(np.isinf(values)):
        raise ValueError(f"{path}:{number}: infinite value in {line!r}")
    return values


def read_box_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse an `x,y,w,h`-per-line file. Returns (boxes (N, 4) with NaN rows where absent,
    present (N,) bool). Absent = any NaN or a zero-area box; negative sizes are errors."""
    rows = []
    for number, line in _read_lines(path):
        x, y, w, h = _parse_numbers(path, number, line, 4)
        if w < 0 or h < 0:
            raise ValueError(f"{path}:{number}: negative box size w={w:g}, h={h:g}")
        rows.append((x, y, w, h))
    if not rows:
        raise ValueError(f"{path}: no boxes")
    boxes = np.asarray(rows, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        present = np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    boxes[~present] = np.nan
    return boxes, present


def read_flag_file(path: str, expected_length: int, allowed: range = range(0, 2)) -> np.ndarray:
    """Integer labels separated by commas or newlines (LaSOT writes one line, GOT-10k one per
    line). The count must match the frame count: a silent misalignment would mislabel frames."""
    values: list[int] = []
    for number, line in _read_lines(path):
        for value in _parse_numbers(path, number, line, None):
            if not value.is_integer() or int(value) not in allowed:
                raise ValueError(
                    f"{path}:{number}: label {value:g} outside {allowed.start}..{allowed.stop - 1}"
                )
            values.append(int(value))
    if len(values) != expected_length:
        raise ValueError(f"{path}: {len(values)} labels but groundtruth has {expected_length} frames")
    return np.asarray(values, dtype=np.int64)


def _check_frames(sequence_dir: str, frame_paths: list[str]) -> None:
    """One directory listing per sequence: every frame named by the pattern must exist."""
    folders: dict[str, set[str]] = {}
    missing = []
    for path in frame_paths:
        folder, name = os.path.split(path)
        if folder not in folders:
            folders[folder] = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        if name not in folders[folder]:
            missing.append(path)
    if missing:
        raise FileNotFoundError(
            f"{sequence_dir}: {len(missing)} of {len(frame_paths)} frames missing, first {missing[0]}"
        )


def _resolve_root(root: str) -> str:
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"dataset root not found: {root}")
    return root


# ----------------------------------------------------------------------------- SOT datasets


def read_lasot(root: str, split: str | None = None, annotations_only: bool = False) -> list[Sequence]:
    """`<root>/<class>/<class>-<k>/...`. `split`: None for every sequence, or a text file
    (absolute or relative to root, e.g. LaSOT's testing_set.txt) listing sequence names."""
    root = _resolve_root(root)
    if split is None:
        names = sorted(
            name
            for class_name in os.listdir(root)
            if os.path.isdir(os.path.join(root, class_name))
            for name in os.listdir(os.path.join(root, class_name))
            if os.path.isfile(os.path.join(root, class_name, name, "groundtruth.txt"))
        )
    else:
        split_file = split if os.path.isabs(split) else os.path.join(root, split)
        names = [line for _, line in _read_lines(split_file)]
    sequences = []
    for name in names:
        class_name = name.rsplit("-", 1)[0]
        sequence_dir = os.path.join(root, class_name, name)
        boxes, present = read_box_file(os.path.join(sequence_dir, "groundtruth.txt"))
        n = len(boxes)
        occluded = read_flag_file(os.path.join(sequence_dir, "full_occlusion.txt"), n).astype(bool)
        out_of_view = read_flag_file(os.path.join(sequence_dir, "out_of_view.txt"), n).astype(bool)
        absent = occluded | out_of_view | ~present
        boxes[absent] = np.nan
        frame_paths = [os.path.join(sequence_dir, "img", f"{i:08d}.jpg") for i in range(1, n + 1)]
        if not annotations_only:
            _check_frames(sequence_dir, frame_paths)
        sequences.append(Sequence(name, "lasot", frame_paths, boxes, absent, object_class=class_name))
    return sequences


def _got10k_meta_class(path: str) -> str:
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            key, _, value = line.partition(":")
            if key.strip() == "object_class":
                return value.strip()
    return ""


def read_got10k(root: str, split: str | None = None, annotations_only: bool = False) -> list[Sequence]:
    """`<root>/<split>/list.txt` + per-sequence files; split None reads every split present.

    The test split ships only the first frame's box; there the frame count comes from the
    directory listing and later boxes are NaN (unknown, not absent)."""
    root = _resolve_root(root)
    splits = [split] if split is not None else [s for s in ("train", "val", "test") if os.path.isdir(os.path.join(root, s))]
    sequences = []
    for split_name in splits:
        split_dir = os.path.join(root, split_name)
        for _, name in _read_lines(os.path.join(split_dir, "list.txt")):
            sequence_dir = os.path.join(split_dir, name)
            boxes, present = read_box_file(os.path.join(sequence_dir, "groundtruth.txt"))
            n = len(boxes)
            absence_path = os.path.join(sequence_dir, "absence.label")
            cover = None
            if os.path.isfile(absence_path):
                absent = read_flag_file(absence_path, n).astype(bool) | ~present
                cover_path = os.path.join(sequence_dir, "cover.label")
                if os.path.isfile(cover_path):
                    cover = read_flag_file(cover_path, n, range(0, 9))
                    absent |= cover == 0
            else:
                # Test split: only frame 1 is annotated; count frames from the listing.
                jpgs = [f for f in os.listdir(sequence_dir) if f.endswith(".jpg")] if os.path.isdir(sequence_dir) else []
                if len(jpgs) > n:
                    boxes = np.vstack([boxes, np.full((len(jpgs) - n, 4), np.nan)])
                    n = len(boxes)
                absent = np.zeros(n, dtype=bool)
                absent[: len(present)] = ~present
            boxes[absent] = np.nan
            frame_paths = [os.path.join(sequence_dir, f"{i:08d}.jpg") for i in range(1, n + 1)]
            if not annotations_only:
                _check_frames(sequence_dir, frame_paths)
            sequences.append(
                Sequence(
                    name,
                    "got10k",
                    frame_paths,
                    boxes,
                    absent,
                    object_class=_got10k_meta_class(os.path.join(sequence_dir, "meta_info.ini")),
                    cover=cover,
                )
            )
    return sequences


def read_trackingnet(root: str, split: str | None = None, annotations_only: bool = False) -> list[Sequence]:
    """`<root>/<chunk>/anno/<video>.txt`, frames `<root>/<chunk>/frames/<video>/<i>.jpg` (i from 0).
    `split`: None for every TRAIN_k/TEST chunk present, or chunk names joined by commas."""
    root = _resolve_root(root)
    if split is None:
        chunks = sorted(
            c for c in os.listdir(root)
            if re.fullmatch(r"TRAIN_\d+|TEST", c) and os.path.isdir(os.path.join(root, c, "anno"))
        )
    else:
        chunks = [c.strip() for c in split.split(",") if c.strip()]
    sequences = []
    for chunk in chunks:
        anno_dir = os.path.join(root, chunk, "anno")
        if not os.path.isdir(anno_dir):
            raise FileNotFoundError(f"TrackingNet annotation folder not found: {anno_dir}")
        for file_name in sorted(f for f in os.listdir(anno_dir) if f.endswith(".txt")):
            name = file_name[: -len(".txt")]
            boxes, present = read_box_file(os.path.join(anno_dir, file_name))
            frame_dir = os.path.join(root, chunk, "frames", name)
            frame_paths = [os.path.join(frame_dir, f"{i}.jpg") for i in range(len(boxes))]
            if not annotations_only:
                _check_frames(frame_dir, frame_paths)
            sequences.append(Sequence(name, "trackingnet", frame_paths, boxes, ~present))
    return sequences


# ----------------------------------------------------------------------------- MOT17


def _read_seqinfo(path: str) -> dict[str, str]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"seqinfo.ini not found: {path}")
    parser = configparser.ConfigParser()
    parser.optionxform = str
    try:
        parser.read(path, encoding="utf-8")
        info = dict(parser["Sequence"])
    except (configparser.Error, KeyError) as err:
        raise ValueError(f"{path}: not a MOT seqinfo.ini with a [Sequence] section ({err})") from None
    for key in ("seqLength", "imWidth", "imHeight"):
        if not info.get(key, "").strip().isdigit():
            raise ValueError(f"{path}: {key} missing or not an integer ({info.get(key)!r})")
    return info


def read_mot17(
    root: str,
    split: str | None = None,
    annotations_only: bool = False,
    min_visibility: float = 0.0,
) -> list[Sequence]:
    """`<root>/<split>/<seq>/{img1, gt/gt.txt, seqinfo.ini}`; split defaults to 'train'.

    tracks[id] holds the gt box on frames where the pedestrian is listed with flag 1, class 1
    and visibility > min_visibility (so fully occluded rows, visibility 0, count as absent), NaN
    elsewhere. Ids are MOT ids, unique within a sequence only; combine with the sequence name
    for dataset-wide identity labels.
    """
    root = _resolve_root(root)
    split_dir = os.path.join(root, split or "train")
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(f"MOT split folder not found: {split_dir}")
    sequences = []
    skipped_rows = 0
    for name in sorted(os.listdir(split_dir)):
        sequence_dir = os.path.join(split_dir, name)
        gt_path = os.path.join(sequence_dir, "gt", "gt.txt")
        if not os.path.isfile(gt_path):
            continue
        info = _read_seqinfo(os.path.join(sequence_dir, "seqinfo.ini"))
        n = int(info["seqLength"])
        image_dir = os.path.join(sequence_dir, info.get("imDir", "img1"))
        extension = info.get("imExt", ".jpg")
        tracks: dict[int, np.ndarray] = {}
        for number, line in _read_lines(gt_path):
            values = _parse_numbers(gt_path, number, line, None)
            if len(values) < 9:
                raise ValueError(f"{gt_path}:{number}: expected 9 columns, got {len(values)} in {line!r}")
            frame, identity, x, y, w, h, flag, class_id, visibility = values[:9]
            if not frame.is_integer() or not 1 <= frame <= n:
                raise ValueError(f"{gt_path}:{number}: frame {frame:g} outside 1..{n} (seqLength)")
            if not np.isfinite([x, y, w, h, visibility]).all() or w < 0 or h < 0:
                raise ValueError(f"{gt_path}:{number}: invalid box {x:g},{y:g},{w:g},{h:g}")
            if flag != 1 or class_id != 1 or visibility <= min_visibility or w == 0 or h == 0:
                skipped_rows += 1
                continue
            track = tracks.setdefault(int(identity), np.full((n, 4), np.nan))
            if np.isfinite(track[int(frame) - 1, 0]):
                raise ValueError(f"{gt_path}:{number}: id {int(identity)} appears twice in frame {int(frame)}")
            track[int(frame) - 1] = (x, y, w, h)
        frame_paths = [os.path.join(image_dir, f"{i:06d}{extension}") for i in range(1, n + 1)]
        if not annotations_only:
            _check_frames(sequence_dir, frame_paths)
        sequences.append(
            Sequence(
                name,
                "mot17",
                frame_paths,
                np.full((n, 4), np.nan),
                np.ones(n, dtype=bool),
                object_class="pedestrian",
                tracks=dict(sorted(tracks.items())),
                ids_are_identities=True,
                image_size=(int(info["imHeight"]), int(info["imWidth"])),
            )
        )
    if skipped_rows:
        logger.info("MOT17 %s: skipped %d gt rows (flag 0, non-pedestrian, or not visible)", split_dir, skipped_rows)
    return sequences


# ----------------------------------------------------------------------------- COCO


def read_coco(root: str, split: str | None = None, annotations_only: bool = False) -> list[Sequence]:
    """`<root>/annotations/instances_<split>.json`, images in `<root>/<split>/<file_name>`.
    split None reads every instances_*.json present."""
    root = _resolve_root(root)
    annotation_dir = os.path.join(root, "annotations")
    if split is None:
        names = sorted(
            f[len("instances_") : -len(".json")]
            for f in (os.listdir(annotation_dir) if os.path.isdir(annotation_dir) else [])
            if f.startswith("instances_") and f.endswith(".json")
        )
        if not names:
            raise FileNotFoundError(f"no annotations/instances_*.json under {root}")
    else:
        names = [split]
    sequences = []
    for split_name in names:
        sequences.extend(_read_coco_split(root, split_name, annotations_only))
    return sequences


def _read_coco_split(root: str, split: str, annotations_only: bool) -> list[Sequence]:
    path = os.path.join(root, "annotations", f"instances_{split}.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"COCO annotation file not found: {path}")
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise ValueError(f"{path}: missing list {key!r}")
    categories = {c["id"]: c.get("name", str(c["id"])) for c in document["categories"]}
    per_image: dict[int, list[dict]] = {}
    crowd = degenerate = 0
    for index, annotation in enumerate(document["annotations"]):
        try:
            image_id = annotation["image_id"]
            x, y, w, h = (float(v) for v in annotation["bbox"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: annotation #{index} (id {annotation.get('id')}) lacks image_id or a 4-number bbox") from None
        if annotation.get("iscrowd", 0):
            crowd += 1
            continue
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            degenerate += 1
            continue
        per_image.setdefault(image_id, []).append(annotation)
    image_dir = os.path.join(root, split)
    sequences = []
    listing: set[str] | None = None
    missing = []
    empty = 0
    for image in document["images"]:
        annotations = per_image.get(image["id"])
        if not annotations:
            empty += 1
            continue
        frame_path = os.path.join(image_dir, image["file_name"])
        if not annotations_only:
            if listing is None:
                listing = set(os.listdir(image_dir)) if os.path.isdir(image_dir) else set()
            if image["file_name"] not in listing and not os.path.isfile(frame_path):
                missing.append(frame_path)
        tracks = {int(a["id"]): np.asarray([a["bbox"]], dtype=np.float64) for a in annotations}
        sequences.append(
            Sequence(
                os.path.splitext(image["file_name"])[0],
                "coco",
                [frame_path],
                np.full((1, 4), np.nan),
                np.ones(1, dtype=bool),
                object_class="",
                tracks=tracks,
                ids_are_identities=False,
                image_size=(int(image["height"]), int(image["width"])) if "height" in image else None,
                track_classes={int(a["id"]): categories.get(a["category_id"], "") for a in annotations},
            )
        )
    if missing:
        raise FileNotFoundError(f"{image_dir}: {len(missing)} annotated images missing, first {missing[0]}")
    if crowd or degenerate or empty:
        logger.info(
            "COCO %s: skipped %d crowd and %d degenerate boxes, %d images without usable boxes",
            path, crowd, degenerate, empty,
        )
    return sequences


# ----------------------------------------------------------------------------- entry point


READERS: dict[str, Callable[..., list[Sequence]]] = {
    "lasot": read_lasot,
    "got10k": read_got10k,
    "trackingnet": read_trackingnet,
    "coco": read_coco,
    "mot17": read_mot17,
}


def read_dataset(
    name: str, root: str, split: str | None = None, annotations_only: bool = False
) -> list[Sequence]:
    """Read dataset `name` ('lasot' | 'got10k' | 'trackingnet' | 'coco' | 'mot17') at `root`.

    An empty result is an error: a wrong root or split must not look like an empty dataset.
    """
    if name not in READERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(READERS)}")
    sequences = READERS[name](root, split=split, annotations_only=annotations_only)
    if not sequences:
        raise ValueError(f"no {name} sequences found under {root}" + (f" (split {split!r})" if split else ""))
    return sequences
