"""The one parser of annotation text, and the small helpers every dataset reader shares.

Numbers are separated by commas, tabs, semicolons or spaces, in any mix (OTB mixes them,
TrackingNet files are sometimes tab-delimited). Every error names the file and the 1-based
line, and quotes the offending value or line. Evaluation reads its result files with the same
parser (`eval.result_files`).

Lines (`read_lines`, used for every text annotation file: groundtruth, absence/cover labels,
full_occlusion/out_of_view, VOT region and `sequence` files, TrackingNet, OTB, TLP, MOT gt.txt,
list.txt and split lists): a line is what lies between two newlines, so the final newline does
not end an extra (empty) line. A blank or whitespace-only line in the middle of a file is a
ValueError ``"<file>:<line>: blank line"`` -- skipping it would shift every following row onto
the wrong frame and surface later as a count mismatch blamed on another file (the VOT toolkit's
`vot/region/io.py` `read_trajectory` also fails on one: `parse_region` indexes ``string[0]``).
Blank lines at the very end of a file are taken as the end of the file and ignored (real
downloads sometimes end with an extra empty line).

Invalid boxes are not a reading concern: rows with w <= 0 or h <= 0 (LaSOT's ``1,1,-1,-1``,
GOT-10k train's ``-1,-1,-1,-1`` on absent frames) are kept as read, for training and for
evaluation alike. `data_pipelines.sequence.Sequence` makes them unusable for training, and the
toolkits in `eval` score them as invalid ground truth.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
from typing import Iterable

import numpy as np

from dmtrack_common.frames import count_frames, numbered_frames

_SEPARATORS = re.compile(r"[,\t; ]+")


def read_lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of every line of a text file, up to the last
    non-blank one.

    Raises FileNotFoundError naming the path when it is not a file, and ValueError
    ``"<path>:<line>: blank line ..."`` for a blank line before the last non-blank one
    (trailing blank lines are the end of the file; see the module docstring).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, encoding="utf-8") as stream:
        lines = [(number, line.strip()) for number, line in enumerate(stream, start=1)]
    while lines and not lines[-1][1]:
        lines.pop()  # trailing blank lines: the end of the file
    for number, text in lines:
        if not text:
            raise ValueError(f"{path}:{number}: blank line (every line up to the last one "
                             f"must hold an entry)")
    return lines


def parse_numbers(path, line_number: int, text: str, expected: int | None = None, *,
                  allow_nan: bool = True, allow_inf: bool = False) -> list[float]:
    """The numbers of one line. ValueError ``"<path>:<line>: ..."`` for a token that is not
    a number (quoted), a NaN/infinity where not allowed, or not `expected` values."""
    values = []
    for token in (t for t in _SEPARATORS.split(text) if t):
        try:
            value = float(token)
        except ValueError:
            raise ValueError(f"{path}:{line_number}: {token!r} is not a number "
                             f"(line {text!r})") from None
        if np.isnan(value) and not allow_nan:
            raise ValueError(f"{path}:{line_number}: NaN is not allowed here (line {text!r})")
        if np.isinf(value) and not allow_inf:
            raise ValueError(f"{path}:{line_number}: infinite value in {text!r}")
        values.append(value)
    if expected is not None and len(values) != expected:
        raise ValueError(f"{path}:{line_number}: expected {expected} values, got "
                         f"{len(values)} (line {text!r})")
    return values


def read_number_rows(path, columns: int | tuple[int, ...] | None = 4, *,
                     allow_nan: bool = True, allow_inf: bool = False) -> np.ndarray:
    """(R, C) float64 rows of a numbers-per-line file.

    `columns`: the required width, a tuple of allowed widths (every row must then have the
    same one), or None for any common width. Raises FileNotFoundError for a missing file and
    ValueError (file:line) for bad values, a wrong width or a file without rows.
    """
    rows = []
    widths = (columns,) if isinstance(columns, int) else columns
    for number, text in read_lines(path):
        values = parse_numbers(path, number, text, None, allow_nan=allow_nan,
                               allow_inf=allow_inf)
        if widths is not None and len(values) not in widths:
            expected = " or ".join(str(w) for w in widths)
            raise ValueError(f"{path}:{number}: expected {expected} values, got "
                             f"{len(values)} (line {text!r})")
        if rows and len(values) != len(rows[0]):
            raise ValueError(f"{path}:{number}: {len(values)} values but the first row has "
                             f"{len(rows[0])} (line {text!r})")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return np.asarray(rows, dtype=np.float64)


def read_box_rows(path) -> np.ndarray:
    """(N, 4) float64 raw x, y, w, h rows, kept as read: NaN rows (box unknown/absent) and
    rows with w <= 0 or h <= 0 (invalid ground truth; see the module docstring) included.
    Infinity is an error (file:line). One behaviour for training and evaluation: what a
    row means is decided by `Sequence` (training views) and the toolkit scorers.
    """
    rows = [parse_numbers(path, number, text, 4) for number, text in read_lines(path)]
    if not rows:
        raise ValueError(f"{path}: no rows")
    return np.asarray(rows, dtype=np.float64)


def region_to_box(values: list[float], where: str) -> list[float]:
    """x, y, w, h of one VOT region line, as the VOT toolkit reads it (`vot/region/io.py`
    `parse_region`, `vot/region/shapes.py` `Rectangle.convert`):

    * one value -- a special region (0 unknown/absent, 1 initialisation, 2 failure): empty,
      so NaN (absent);
    * four values -- a rectangle x, y, w, h, as is;
    * an even number >= 6 -- a polygon x1, y1, x2, y2, ...: its axis-aligned bounding box
      ``min(x), min(y), max(x) - min(x), max(y) - min(y)`` (no +1);
    * any NaN among 4 or more values -- special region 0 (absent): NaN.

    Anything else (2 values, a point; an odd count; an ``m...`` mask line, which fails to parse
    as numbers before reaching here) is a ValueError naming `where`.
    """
    count = len(values)
    if count == 1:
        return [math.nan] * 4
    if count >= 4 and count % 2 == 0:
        if any(math.isnan(v) for v in values):
            return [math.nan] * 4
        if count == 4:
            return list(values)
        xs, ys = values[0::2], values[1::2]
        return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    raise ValueError(f"{where}: expected 1 value (special region), 4 (rectangle) or an even "
                     f"number >= 6 (polygon), got {count}")


def read_region_rows(path) -> np.ndarray:
    """(N, 4) float64 x, y, w, h of a VOT region file (groundtruth.txt), one region per line
    converted by `region_to_box`; rectangles, polygons and one-value lines may be mixed.
    ValueError (file:line) for a bad value, a blank line or an unsupported region."""
    rows = []
    for number, text in read_lines(path):
        values = parse_numbers(path, number, text, None)
        rows.append(region_to_box(values, f"{path}:{number} (line {text!r})"))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return np.asarray(rows, dtype=np.float64)


def read_flags(path, expected: int, allowed: range = range(0, 2)) -> np.ndarray:
    """(expected,) int64 integer labels, on one line (LaSOT) or one per line (GOT-10k).

    ValueError ``"<path>:<line>: label 2 outside 0..1"`` for a value outside `allowed`, and
    ``"<path>: 2 labels for 3 frames"`` when the count differs from the frame count (a silent
    misalignment would mislabel frames).
    """
    values: list[int] = []
    for number, text in read_lines(path):
        for value in parse_numbers(path, number, text, None, allow_nan=False):
            if not value.is_integer() or int(value) not in allowed:
                raise ValueError(f"{path}:{number}: label {value:g} outside "
                                 f"{allowed.start}..{allowed.stop - 1}")
            values.append(int(value))
    if len(values) != expected:
        raise ValueError(f"{path}: {len(values)} labels for {expected} frames")
    return np.asarray(values, dtype=np.int64)


def read_key_values(path, separator: str = "=") -> dict[str, str]:
    """``key<separator>value`` lines (VOT's `sequence` file); other non-blank lines are
    ignored (a blank line in the middle is an error, as everywhere)."""
    result = {}
    for _, text in read_lines(path):
        if separator in text:
            key, value = text.split(separator, 1)
            result[key.strip()] = value.strip()
    return result


# ----------------------------------------------------------------------------- folders


def resolve_root(root, what: str) -> pathlib.Path:
    """The absolute dataset root; FileNotFoundError ``"<what> dataset root not found"``."""
    path = pathlib.Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    if not path.is_dir():
        raise FileNotFoundError(f"{what} dataset root not found: {path}")
    return path


def require_dir(path: pathlib.Path, what: str) -> pathlib.Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def select_names(available: list[str], names: Iterable[str] | None, what: str,
                 hint: str = "") -> list[str]:
    """The requested subset, in the requested order, before any per-sequence work; ValueError
    for a name the dataset (split) does not have, ending with `hint` when given."""
    if names is None:
        return list(available)
    names = list(names)
    known = set(available)
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"unknown {what} sequence name(s) {missing[:5]}{hint}")
    return names


def frame_files(folder: pathlib.Path, numbers, digits: int, suffix: str,
                with_frames: bool) -> list[pathlib.Path]:
    """Frame k is `folder/<k zero-padded to digits><suffix>`. With frames: the files found on
    disk (`dmtrack_common.frames.numbered_frames`, FileNotFoundError naming the first missing
    one); without: the layout's names, unchecked."""
    if with_frames:
        return numbered_frames(folder, numbers, digits, suffix)
    return [folder / f"{int(k):0{digits}d}{suffix}" for k in numbers]


def frames_in_folder(folder: pathlib.Path) -> int:
    """Image files in `folder` (0 for a missing one): the frame count of a sequence whose
    annotation holds only the first box."""
    return count_frames(folder) if folder.is_dir() else 0
