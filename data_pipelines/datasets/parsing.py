"""The one parser of annotation text, and the small helpers every dataset reader shares.

Numbers are separated by commas, tabs, semicolons or spaces, in any mix (OTB mixes them,
TrackingNet files are sometimes tab-delimited); empty lines are skipped. Every error names the
file and the 1-based line, and quotes the offending value or line. Evaluation reads its result
files with the same parser (`eval.result_files`).
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Iterable

import numpy as np

from dmtrack_common.frames import count_frames, numbered_frames

_SEPARATORS = re.compile(r"[,\t; ]+")


def read_lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of every non-empty line of a text file.

    Raises FileNotFoundError naming the path when it is not a file.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, encoding="utf-8") as stream:
        return [(number, line.strip()) for number, line in enumerate(stream, start=1)
                if line.strip()]


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


def read_box_rows(path, *, allow_negative_sizes: bool = False) -> np.ndarray:
    """(N, 4) float64 raw x, y, w, h rows, NaN kept (a NaN row: box unknown/absent).

    A negative width or height is a ValueError ``"<path>:<line>: negative box size ..."``
    unless `allow_negative_sizes` (the evaluation toolkits score such rows as invalid ground
    truth); infinity is always an error.
    """
    rows = []
    for number, text in read_lines(path):
        x, y, w, h = parse_numbers(path, number, text, 4)
        if not allow_negative_sizes and (w < 0 or h < 0):
            raise ValueError(f"{path}:{number}: negative box size w={w:g}, h={h:g}")
        rows.append((x, y, w, h))
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
    """``key<separator>value`` lines (VOT's `sequence` file); other lines are ignored."""
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


def select_names(available: list[str], names: Iterable[str] | None, what: str) -> list[str]:
    """The requested subset, in the requested order, before any per-sequence work; ValueError
    for a name the dataset (split) does not have."""
    if names is None:
        return list(available)
    names = list(names)
    known = set(available)
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"unknown {what} sequence name(s) {missing[:5]}")
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
