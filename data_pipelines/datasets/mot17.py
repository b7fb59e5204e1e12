"""MOT17 (Milan et al., 2016): `<root>/<split>/<seq>/{img1/%06d.jpg, gt/gt.txt, seqinfo.ini}`.

gt.txt rows `frame,id,x,y,w,h,flag,class,visibility`. Only rows with flag 1, class 1
(pedestrian) and visibility > min_visibility are identities; other rows are skipped by design
(counted in the log). The SOT fields are unused (NaN ground truth, `present` False): the
pedestrians live in `tracks`, and `ids_are_identities` is True (ids are unique within a
sequence only). Source: the MOTChallenge devkit's gt format.
"""

from __future__ import annotations

import configparser
import logging
import pathlib

import numpy as np

from data_pipelines.datasets.parsing import (frame_files, parse_numbers, read_lines,
                                             require_dir, resolve_root, select_names)
from data_pipelines.sequence import Sequence

logger = logging.getLogger(__name__)


def _read_seqinfo(path: pathlib.Path) -> dict[str, str]:
    if not path.is_file():
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


def _read_tracks(gt_path: pathlib.Path, n: int, min_visibility: float) -> tuple[dict, int]:
    """id -> (n, 4) xywh (NaN where not listed), and the number of skipped rows."""
    tracks: dict[int, np.ndarray] = {}
    skipped = 0
    for number, line in read_lines(gt_path):
        values = parse_numbers(gt_path, number, line, None)
        if len(values) < 9:
            raise ValueError(f"{gt_path}:{number}: expected 9 columns, got {len(values)} in {line!r}")
        frame, identity, x, y, w, h, flag, class_id, visibility = values[:9]
        if not frame.is_integer() or not 1 <= frame <= n:
            raise ValueError(f"{gt_path}:{number}: frame {frame:g} outside 1..{n} (seqLength)")
        if not np.isfinite([x, y, w, h, visibility]).all() or w < 0 or h < 0:
            raise ValueError(f"{gt_path}:{number}: invalid box {x:g},{y:g},{w:g},{h:g}")
        if flag != 1 or class_id != 1 or visibility <= min_visibility or w == 0 or h == 0:
            skipped += 1
            continue
        track = tracks.setdefault(int(identity), np.full((n, 4), np.nan))
        if np.isfinite(track[int(frame) - 1, 0]):
            raise ValueError(f"{gt_path}:{number}: id {int(identity)} appears twice in frame {int(frame)}")
        track[int(frame) - 1] = (x, y, w, h)
    return dict(sorted(tracks.items())), skipped


def read_mot17(root, split: str | None = None, *, with_frames: bool = True, names=None,
               min_visibility: float = 0.0) -> list[Sequence]:
    """MOT17 sequences of `split` (default "train") that have gt/gt.txt, sorted by name.

    tracks[id] holds the gt box on frames where the pedestrian is listed with flag 1, class 1
    and visibility > min_visibility (so fully occluded rows, visibility 0, count as absent),
    NaN elsewhere. A negative size in gt.txt is an error naming the line (MOT boxes are never
    negative; zero-size rows are skipped).
    """
    root = resolve_root(root, "MOT17")
    split_dir = require_dir(root / (split or "train"), "MOT split folder")
    available = sorted(p.name for p in split_dir.iterdir() if (p / "gt" / "gt.txt").is_file())
    sequences = []
    skipped_rows = 0
    for name in select_names(available, names, "MOT17"):
        sequence_dir = split_dir / name
        info = _read_seqinfo(sequence_dir / "seqinfo.ini")
        n = int(info["seqLength"])
        tracks, skipped = _read_tracks(sequence_dir / "gt" / "gt.txt", n, min_visibility)
        skipped_rows += skipped
        frames = frame_files(sequence_dir / info.get("imDir", "img1"), range(1, n + 1), 6,
                             info.get("imExt", ".jpg"), with_frames)
        sequences.append(Sequence(
            name, "mot17", frames, np.full((n, 4), np.nan), np.zeros(n, bool),
            object_class="pedestrian", tracks=tracks, ids_are_identities=True,
            image_size=(int(info["imHeight"]), int(info["imWidth"]))))
    if skipped_rows:
        logger.info("MOT17 %s: skipped %d gt rows (flag 0, non-pedestrian, or not visible)",
                    split_dir, skipped_rows)
    return sequences
