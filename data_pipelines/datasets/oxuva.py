"""OxUvA long-term tracks (Valmadre et al., ECCV 2018): the task list and the 1 Hz annotations.

Layout: `<root>/tasks/<split>.csv` rows `video,object,init_frame,last_frame,xmin,xmax,ymin,ymax`;
`<root>/annotations/<split>.csv` rows `video,object,class_id,class_name,contains_cuts,
always_visible,frame_num,present,xmin,xmax,ymin,ymax` (a 10-column variant without
contains_cuts/always_visible is accepted too); frames `<root>/images/<split>/<video>/
<frame:06d>.jpeg`. Boxes are fractions of the image size (xmin, xmax, ymin, ymax), so a task's
`Sequence` carries its initial box in ``extra["init_box_xxyy"]`` and a NaN `ground_truth` row.
Source: the oxuva toolkit's `oxuva/io_task.py` and `io_annot.py` formats.
"""

from __future__ import annotations

import csv
import pathlib

import numpy as np

from data_pipelines.datasets.parsing import resolve_root, select_names
from data_pipelines.sequence import Sequence
from dmtrack_common.frames import list_frames

PRESENT_TRUE = {"true", "present", "1"}
PRESENT_FALSE = {"false", "absent", "0"}


def parse_present(token: str, where: str) -> bool:
    """OxUvA presence (true/false, present/absent, 1/0, any case); ValueError naming `where`."""
    value = token.strip().lower()
    if value in PRESENT_TRUE:
        return True
    if value in PRESENT_FALSE:
        return False
    raise ValueError(f"{where}: presence {token!r} is not true/false (or present/absent)")


def _csv_rows(path: pathlib.Path):
    """(line number, stripped cells) of the CSV rows; FileNotFoundError if missing.

    Blank lines follow `parsing.read_lines`: trailing ones end the file, one in the middle is
    a ValueError naming file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"missing OxUvA file {path}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(reader.line_num, [cell.strip() for cell in row])
                for reader in [csv.reader(f)] for row in reader]
    while rows and not any(rows[-1][1]):
        rows.pop()
    for line_number, row in rows:
        if not any(row):
            raise ValueError(f"{path}:{line_number}: blank line (every line up to the last "
                             f"one must hold an entry)")
        yield line_number, row


def read_oxuva(root, split: str | None = None, *, with_frames: bool = True,
               names=None) -> list[Sequence]:
    """One `Sequence` per task of `split` (default "dev"), `names` (``<video>_<object>``) in that
    order. With frames: the image files of the video from init_frame to last_frame (the first
    must be init_frame); without: every number of that range, unchecked.

    extra: video, object, init_frame, last_frame, frame_numbers (list[int]) and init_box_xxyy
    ((4,) float64 fractions). ValueError (file:line) for a malformed task row.
    """
    root = resolve_root(root, "OxUvA")
    split = split or "dev"
    path = root / "tasks" / f"{split}.csv"
    tasks = {}
    for line_number, row in _csv_rows(path):
        where = f"{path}:{line_number}"
        if len(row) != 8:
            raise ValueError(f"{where}: expected 8 columns, got {len(row)}")
        try:
            task = {"video": row[0], "object": row[1], "init_frame": int(row[2]),
                    "last_frame": int(row[3]),
                    "init_box_xxyy": np.asarray([float(v) for v in row[4:8]])}
        except ValueError:
            raise ValueError(f"{where}: bad number in {row}") from None
        tasks[f"{row[0]}_{row[1]}"] = (task, where)
    sequences = []
    for name in select_names(list(tasks), names, "OxUvA"):
        task, where = tasks[name]
        video_dir = root / "images" / split / task["video"]
        first, last = task["init_frame"], task["last_frame"]
        if with_frames:
            frames = [p for p in list_frames(video_dir)
                      if p.stem.isdigit() and first <= int(p.stem) <= last]
            if not frames or int(frames[0].stem) != first:
                raise FileNotFoundError(f"{where}: initial frame {first:06d} not in {video_dir}")
        else:
            frames = [video_dir / f"{k:06d}.jpeg" for k in range(first, last + 1)]
        extra = dict(task, frame_numbers=[int(p.stem) for p in frames])
        sequences.append(Sequence(name, "oxuva", frames, np.full((1, 4), np.nan),
                                  np.ones(1, bool), extra=extra))
    return sequences


def read_annotations(root, split: str = "dev") -> dict[tuple[str, str], dict]:
    """(video, object) -> {frame_num: (present bool, (4,) float64 xmin, xmax, ymin, ymax)}.

    ValueError naming file:line for a row of the wrong width, a bad number or presence.
    """
    path = pathlib.Path(root) / "annotations" / f"{split}.csv"
    annotations: dict[tuple[str, str], dict] = {}
    for line_number, row in _csv_rows(path):
        where = f"{path}:{line_number}"
        if len(row) == 12:
            frame, present, box = row[6], row[7], row[8:12]
        elif len(row) == 10:
            frame, present, box = row[4], row[5], row[6:10]
        else:
            raise ValueError(f"{where}: expected 12 (or 10) columns, got {len(row)}")
        try:
            entry = (parse_present(present, where), np.asarray([float(v) for v in box]))
            annotations.setdefault((row[0], row[1]), {})[int(frame)] = entry
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    return annotations
