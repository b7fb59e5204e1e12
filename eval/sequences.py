"""A benchmark sequence, the annotation-text parser and frame loading.

Readers build `Sequence`s from annotations only; frame paths are listed (never opened) and
only when tracking needs them, so scoring a results folder works on an annotations-only copy.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Iterator

import numpy as np

from dmtrack_common.frames import list_frames, load_frame  # noqa: F401  (used by the readers)

_SPLIT = re.compile(r"[,\t; ]+")


@dataclasses.dataclass
class Sequence:
    """One target in one video.

    `ground_truth` has one x, y, w, h row per frame (NaN rows where the benchmark marks the
    target absent or withholds the box); `present` is the benchmark's presence flag per frame;
    `init_box` is what the tracker is initialised with on `frame_paths[0]`.
    """
    name: str
    ground_truth: np.ndarray
    present: np.ndarray
    frame_paths: list[pathlib.Path] = dataclasses.field(default_factory=list)
    image_wh: tuple[int, int] | None = None
    cover: np.ndarray | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def init_box(self) -> np.ndarray:
        return self.ground_truth[0]

    def __len__(self) -> int:
        return len(self.frame_paths) if self.frame_paths else len(self.ground_truth)


def parse_number_rows(path: pathlib.Path, columns: int | None = 4,
                      allow_nan: bool = False) -> np.ndarray:
    """Rows of numbers separated by commas, tabs, semicolons or spaces (OTB mixes them).

    Empty lines are skipped. Raises ValueError naming the file, line and value on anything
    that is not a number, or on a row of the wrong width.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing annotation/result file: {path}")
    rows = []
    with open(path) as f:
        for line_number, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            values = []
            for token in _SPLIT.split(text):
                try:
                    value = float(token)
                except ValueError:
                    raise ValueError(f"{path}:{line_number}: {token!r} is not a number "
                                     f"(line {text!r})") from None
                if np.isnan(value) and not allow_nan:
                    raise ValueError(f"{path}:{line_number}: NaN is not allowed here "
                                     f"(line {text!r})")
                values.append(value)
            if columns is not None and len(values) != columns:
                raise ValueError(f"{path}:{line_number}: expected {columns} values, got "
                                 f"{len(values)} (line {text!r})")
            rows.append(values)
    if not rows:
        raise ValueError(f"{path} holds no rows")
    if columns is None and len({len(r) for r in rows}) != 1:
        raise ValueError(f"{path}: rows have different numbers of values")
    return np.asarray(rows, dtype=np.float64)


def parse_flags(path: pathlib.Path, expected: int | None = None) -> np.ndarray:
    """0/1 (or fractional) labels, one per frame, on one line or one per line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing label file: {path}")
    values = []
    with open(path) as f:
        for line_number, line in enumerate(f, start=1):
            for token in _SPLIT.split(line.strip()):
                if not token:
                    continue
                try:
                    values.append(float(token))
                except ValueError:
                    raise ValueError(f"{path}:{line_number}: {token!r} is not a label") from None
    if expected is not None and len(values) != expected:
        raise ValueError(f"{path}: {len(values)} labels for {expected} frames")
    return np.asarray(values, dtype=np.float64)


def iterate_frames(sequence: Sequence) -> Iterator[np.ndarray]:
    if not sequence.frame_paths:
        raise ValueError(f"sequence {sequence.name} was read without frames (annotation-only)")
    for path in sequence.frame_paths:
        yield load_frame(path)
