"""COCO (Lin et al., ECCV 2014) detection annotations as one-frame sequences.

`<root>/annotations/instances_<split>.json`, images in `<root>/<split>/<file_name>`. One
`Sequence` per image with at least one usable box: `tracks` maps annotation id -> (1, 4) xywh,
`track_classes` id -> category name; the SOT fields are unused (NaN ground truth, `present`
False) and `ids_are_identities` is False. Crowd and degenerate boxes (w or h <= 0, non-finite)
and images left without any box are skipped, and the counts are logged.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib

import numpy as np

from data_pipelines.datasets.parsing import resolve_root
from data_pipelines.sequence import Sequence
from dmtrack_common.frames import list_frames

logger = logging.getLogger(__name__)


def read_coco(root, split: str | None = None, *, with_frames: bool = True,
              names=None) -> list[Sequence]:
    """COCO images of `split` (e.g. "train2017", the training default `datasets.TRAINING_SPLITS`;
    every instances_*.json present when None or "all"), restricted to `names` (image file
    stems) when given. Degenerate boxes (w or h <= 0) are skipped."""
    root = resolve_root(root, "COCO")
    annotation_dir = root / "annotations"
    if split is None or split == "all":
        splits = sorted(p.name[len("instances_"):-len(".json")]
                        for p in (annotation_dir.glob("instances_*.json")
                                  if annotation_dir.is_dir() else []))
        if not splits:
            raise FileNotFoundError(f"no annotations/instances_*.json under {root}")
    else:
        splits = [split]
    sequences = []
    for split_name in splits:
        sequences.extend(_read_split(root, split_name, with_frames))
    if names is not None:
        by_name = {s.name: s for s in sequences}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"unknown COCO sequence name(s) {missing[:5]}")
        sequences = [by_name[n] for n in names]
    return sequences


def _load_document(path: pathlib.Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"COCO annotation file not found: {path}")
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise ValueError(f"{path}: missing list {key!r}")
    return document


def _read_split(root: pathlib.Path, split: str, with_frames: bool) -> list[Sequence]:
    path = root / "annotations" / f"instances_{split}.json"
    document = _load_document(path)
    categories = {c["id"]: c.get("name", str(c["id"])) for c in document["categories"]}
    per_image: dict[int, list[dict]] = {}
    crowd = degenerate = 0
    for index, annotation in enumerate(document["annotations"]):
        try:
            image_id = annotation["image_id"]
            x, y, w, h = (float(v) for v in annotation["bbox"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: annotation #{index} (id {annotation.get('id')}) lacks "
                             f"image_id or a 4-number bbox") from None
        if annotation.get("iscrowd", 0):
            crowd += 1
            continue
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            degenerate += 1
            continue
        per_image.setdefault(image_id, []).append(annotation)
    image_dir = root / split
    sequences = []
    listing: set[str] | None = None
    missing = []
    empty = 0
    for image in document["images"]:
        annotations = per_image.get(image["id"])
        if not annotations:
            empty += 1
            continue
        frame_path = image_dir / image["file_name"]
        if with_frames:
            if listing is None:
                try:
                    listing = {p.name for p in list_frames(image_dir)}
                except FileNotFoundError:  # no folder, or no image in it
                    listing = set()
            if image["file_name"] not in listing and not frame_path.is_file():
                missing.append(frame_path)
        sequences.append(Sequence(
            os.path.splitext(image["file_name"])[0], "coco", [frame_path],
            np.full((1, 4), np.nan), np.zeros(1, bool), object_class="",
            tracks={int(a["id"]): np.asarray([a["bbox"]], dtype=np.float64) for a in annotations},
            ids_are_identities=False,
            image_size=(int(image["height"]), int(image["width"])) if "height" in image else None,
            track_classes={int(a["id"]): categories.get(a["category_id"], "")
                           for a in annotations}))
    if missing:
        raise FileNotFoundError(f"{image_dir}: {len(missing)} annotated images missing, "
                                f"first {missing[0]}")
    if crowd or degenerate or empty:
        logger.info("COCO %s: skipped %d crowd and %d degenerate boxes, %d images without "
                    "usable boxes", path, crowd, degenerate, empty)
    return sequences
