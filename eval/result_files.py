"""Result files in each toolkit's own format: written atomically, read back leniently.

* OPE (LaSOT, OTB, TLP, TrackingNet): `<dir>/<seq>.txt`, one `x,y,w,h` row per frame (OTB
  also under its own spellings of two-target names; see `_name_candidates`). Beside it, as
  every tracking entry point writes them (`dmtrack track`, `dmtrack demo`,
  `dmtrack eval --checkpoint`): `<seq>_confidence.value`, one confidence in [0, 1] per frame
  (frame 1, the given box, is 1; unlike VOT-LT's file there is no empty first line), and
  `<seq>_time.txt`, seconds per frame (pytracking's name). The box file is written last, so its
  presence marks a finished sequence; the confidence file is named `.value` (the VOT
  toolkit's suffix) so that no tool globbing `*.txt` for sequences mistakes it for one.
  `dmtrack track` streams rows into `<dir>/<seq>.partial` (`PartialOpeResult`) and turns it
  into these files when the sequence ends. Another naming
  (`<seq>_001.txt`, `<Tracker>_<seq>.txt`, `<seq>/<seq>.txt`) is refused with the closest
  names present. A result with one row per image from image 1 is aligned to the annotated
  frames (`align_ope_result`).
* GOT-10k: `<dir>/<seq>/<seq>_001.txt` (boxes; `_002`, ... are repetitions) and
  `<dir>/<seq>/<seq>_time.txt` (seconds per frame).
* VOT-LT: `<dir>/<seq>/<seq>_001.txt` with `1` on the first line (the initialisation) and
  boxes from frame 2; `<seq>_001_confidence.value` with an empty first line, then one
  confidence per frame; `<seq>_time.value`. Also read under `<dir>/longterm/<seq>/`.
* OxUvA: `<dir>/<video>_<object>.csv`, rows
  `video,object,frame_num,present,score,xmin,xmax,ymin,ymax`, `present` as true/false and
  the box as fractions of the image size.
"""

from __future__ import annotations

import difflib
import glob
import pathlib
from typing import Iterable

import numpy as np

from data_pipelines.datasets.oxuva import parse_present
from data_pipelines.datasets.parsing import read_number_rows, read_region_rows
from dmtrack_common.fileio import write_text_atomic  # noqa: F401  (used and re-exported)

def _box_rows(boxes: np.ndarray) -> str:
    return "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in np.asarray(boxes, float))


def _name_candidates(name: str, benchmark: str | None = None) -> list[str]:
    """OTB's two-target videos are spelled Jogging-1, Jogging.1 or Jogging_1 by different
    toolkits; on OTB (only) accept any of them when reading published results. Elsewhere
    (LaSOT `airplane-1`) `airplane_1` is a different name and never stands in."""
    names = [name]
    if benchmark == "otb" and "-" in name:
        base, suffix = name.rsplit("-", 1)
        names += [f"{base}.{suffix}", f"{base}_{suffix}"]
    return names


# --- OPE: LaSOT / OTB / TLP / TrackingNet ------------------------------------------------

def ope_result_path(results_dir, name: str) -> pathlib.Path:
    return pathlib.Path(results_dir) / f"{name}.txt"


def ope_confidence_path(results_dir, name: str) -> pathlib.Path:
    return pathlib.Path(results_dir) / f"{name}_confidence.value"


def ope_time_path(results_dir, name: str) -> pathlib.Path:
    return pathlib.Path(results_dir) / f"{name}_time.txt"


def write_ope_result(results_dir, name: str, boxes: np.ndarray,
                     confidences: Iterable[float] | None = None,
                     times: Iterable[float] | None = None) -> pathlib.Path:
    """`<name>.txt` (boxes), and `<name>_confidence.value` / `<name>_time.txt` when given; each
    atomically, the box file last (its presence marks the sequence finished)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if confidences is not None:
        confidences = np.asarray(list(confidences), np.float64).reshape(-1)
        if len(confidences) != len(boxes):
            raise ValueError(f"{name}: {len(confidences)} confidences for {len(boxes)} boxes")
        write_text_atomic(ope_confidence_path(results_dir, name),
                          "".join(f"{c:.6f}\n" for c in confidences))
    if times is not None:
        write_text_atomic(ope_time_path(results_dir, name),
                          "".join(f"{t:.6f}\n" for t in times))
    path = ope_result_path(results_dir, name)
    write_text_atomic(path, _box_rows(boxes))
    return path


def read_ope_confidences(results_dir, name: str) -> np.ndarray:
    """(N,) from `<name>_confidence.value`; FileNotFoundError naming it when absent."""
    path = ope_confidence_path(results_dir, name)
    if not path.is_file():
        raise FileNotFoundError(f"no confidence file for sequence {name}: expected {path}")
    return read_number_rows(path, columns=1).reshape(-1)


class PartialOpeResult:
    """The rows of one sequence as they are tracked: `<dir>/<name>.partial`, one line
    `x,y,w,h,confidence,seconds` per frame, appended and flushed to the OS as each frame ends
    (a killed process keeps every finished row; only SIGKILL mid-write can leave a torn last
    line, which `rows()` drops). `finish()` writes the OPE files above (box file last, each
    by atomic rename) and removes the partial file.
    """

    def __init__(self, results_dir, name: str):
        self.results_dir = pathlib.Path(results_dir)
        self.name = name
        self.path = self.results_dir / f"{name}.partial"
        self._file = None

    def exists(self) -> bool:
        return self.path.is_file()

    def rows(self) -> np.ndarray:
        """(N, 6) complete rows on disk (N = 0 without a file); a torn last line is dropped.
        ValueError naming the file and line for anything else that is not 6 numbers."""
        if not self.path.is_file():
            return np.zeros((0, 6))
        text = self.path.read_text()
        lines = text.split("\n")
        if lines and lines[-1] != "":  # no newline after the last line: torn, drop it
            lines = lines[:-1]
        rows = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                values = [float(v) for v in line.split(",")]
            except ValueError:
                values = []
            if len(values) != 6:
                raise ValueError(f"{self.path}:{number}: expected 6 numbers "
                                 f"x,y,w,h,confidence,seconds, got {line!r}")
            rows.append(values)
        return np.asarray(rows, np.float64).reshape(-1, 6)

    def open(self, keep: int = 0) -> None:
        """Starts writing: keeps the first `keep` rows on disk (a resumed run), drops the rest
        (including a torn line)."""
        kept = self.rows()[:keep]
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w")
        for row in kept:
            self._file.write(self._line(row[:4], row[4], row[5]))
        self._file.flush()

    @staticmethod
    def _line(box, confidence, seconds) -> str:
        return ",".join(f"{float(v):.4f}" for v in box) + f",{float(confidence):.6f}," \
            f"{float(seconds):.6f}\n"

    def append(self, box, confidence: float, seconds: float) -> None:
        self._file.write(self._line(np.asarray(box, np.float64).reshape(4), confidence, seconds))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> pathlib.Path:
        """The OPE files from the rows on disk; removes the partial file. Returns the box file."""
        self.close()
        rows = self.rows()
        path = write_ope_result(self.results_dir, self.name, rows[:, :4], rows[:, 4], rows[:, 5])
        self.path.unlink()
        return path


def _files_present(results_dir: pathlib.Path) -> list[str]:
    """Relative names of the text files in the folder and one level below."""
    if not results_dir.is_dir():
        return []
    found = [p for p in results_dir.glob("*.txt") if p.is_file()]
    found += [p for p in results_dir.glob("*/*.txt") if p.is_file()]
    return sorted(p.relative_to(results_dir).as_posix() for p in found)


def _missing_result_message(results_dir: pathlib.Path, name: str, benchmark) -> str:
    expected = ope_result_path(results_dir, name)
    message = (f"no result file for sequence {name}: expected {expected} (layout "
               f"`<results-dir>/<sequence>.txt`, one x,y,w,h row per frame)")
    present = _files_present(results_dir)
    if not present:
        return message + f"; {results_dir} holds no .txt files"
    lowered = name.lower()
    containing = [f for f in present if lowered in f.lower()]
    close = difflib.get_close_matches(f"{name}.txt", present, n=5, cutoff=0.6)
    closest = list(dict.fromkeys(containing[:5] + close))[:5]
    hints = []
    for f in closest:
        stem = f[:-len(".txt")]
        if "/" in stem:
            hints.append(f"{f}: one folder per sequence (move the files up to "
                         f"<results-dir>/<sequence>.txt)")
        elif stem.startswith(name + "_") and stem[len(name) + 1:].isdigit():
            hints.append(f"{f}: a VOT/GOT-10k-style repetition name")
        elif stem.endswith("_" + name) or stem.endswith("-" + name):
            hints.append(f"{f}: a tracker-name prefix")
        elif stem in _name_candidates(name, "otb") and benchmark != "otb":
            hints.append(f"{f}: OTB's spelling of a two-target name, accepted on OTB only")
        else:
            hints.append(f)
    if closest:
        message += "; closest names present: " + "; ".join(hints)
    else:
        message += (f"; none of the {len(present)} .txt files there is close (e.g. "
                    f"{', '.join(present[:3])})")
    return message


def find_ope_result(results_dir, name: str, benchmark: str | None = None) -> pathlib.Path:
    """`<results_dir>/<name>.txt` (on OTB also `_name_candidates`); FileNotFoundError naming
    the expected layout and the closest file names present otherwise."""
    for candidate in _name_candidates(name, benchmark):
        path = ope_result_path(results_dir, candidate)
        if path.is_file():
            return path
    raise FileNotFoundError(_missing_result_message(pathlib.Path(results_dir), name, benchmark))


def read_ope_result(results_dir, name: str, benchmark: str | None = None) -> np.ndarray:
    """(N, 4) boxes; NaN values are kept (the metric decides what they mean)."""
    return read_number_rows(find_ope_result(results_dir, name, benchmark), columns=4,
                            allow_inf=True)


def align_ope_result(boxes: np.ndarray, n_frames: int, start_frame: int = 1,
                     name: str = "?") -> np.ndarray:
    """The rows of `boxes` that belong to the `n_frames` annotated frames, which are images
    `start_frame` .. `start_frame + n_frames - 1` (OTB: the toolkit's startFrame/endFrame and
    initOmit, `data_pipelines.datasets.otb`).

    Accepted: one row per annotated frame (`n_frames` rows), or one row per image from image 1
    (at least `start_frame + n_frames - 1` rows, as trackers built on the got10k-toolkit write
    OTB results): the rows of images before start_frame and after the last annotated image are
    dropped. With start_frame 1 that is the LaSOT toolkit's rule (utils/calc_seq_err_robust.m:
    `results(1:size(rect_anno,1),:)`). Any other length is a ValueError naming both lengths:
    rows are never scored against the wrong frames.
    """
    boxes = np.asarray(boxes)
    rows, end_frame = len(boxes), start_frame + n_frames - 1
    if rows == n_frames:
        return boxes
    if rows > n_frames and (start_frame == 1 or rows >= end_frame):
        return boxes[start_frame - 1: end_frame]
    if start_frame == 1:
        raise ValueError(f"sequence {name}: the result has {rows} boxes but the ground truth "
                         f"has {n_frames} frames")
    raise ValueError(f"sequence {name}: the result has {rows} rows, but the toolkit scores "
                     f"{n_frames} frames (images {start_frame}-{end_frame}): expected {n_frames} "
                     f"rows (one per scored frame) or {end_frame} (one per image from image 1)")


# --- GOT-10k ---------------------------------------------------------------------------------

def got10k_result_path(results_dir, name: str, repetition: int = 1) -> pathlib.Path:
    return pathlib.Path(results_dir) / name / f"{name}_{repetition:03d}.txt"


def write_got10k_result(results_dir, name: str, boxes: np.ndarray,
                        times: Iterable[float] | None = None, repetition: int = 1):
    if times is not None:
        write_text_atomic(pathlib.Path(results_dir) / name / f"{name}_time.txt",
                          "".join(f"{t:.6f}\n" for t in times))
    path = got10k_result_path(results_dir, name, repetition)
    write_text_atomic(path, _box_rows(boxes))  # last: its presence marks the sequence done
    return path


def read_got10k_result(results_dir, name: str) -> list[np.ndarray]:
    """All repetitions `<seq>_NNN.txt` of a sequence, in order."""
    folder = pathlib.Path(results_dir) / name
    files = sorted(glob.glob(str(folder / f"{glob.escape(name)}_[0-9][0-9][0-9].txt")))
    if not files:
        raise FileNotFoundError(f"no result file for sequence {name}: "
                                f"{got10k_result_path(results_dir, name)}")
    return [read_number_rows(pathlib.Path(f), columns=4, allow_inf=True) for f in files]


# --- VOT long-term ---------------------------------------------------------------------------

def votlt_result_path(results_dir, name: str) -> pathlib.Path:
    return pathlib.Path(results_dir) / name / f"{name}_001.txt"


def write_votlt_result(results_dir, name: str, boxes: np.ndarray, confidences: np.ndarray,
                       times: Iterable[float] | None = None) -> pathlib.Path:
    folder = pathlib.Path(results_dir) / name
    confidences = np.asarray(confidences, np.float64).reshape(-1)
    if len(confidences) != len(boxes):
        raise ValueError(f"{name}: {len(confidences)} confidences for {len(boxes)} boxes")
    if times is not None:
        write_text_atomic(folder / f"{name}_time.value", "".join(f"{t:.6f}\n" for t in times))
    write_text_atomic(folder / f"{name}_001_confidence.value",
                      "\n" + "".join(f"{c:.6f}\n" for c in confidences[1:]))
    path = votlt_result_path(results_dir, name)
    write_text_atomic(path, "1\n" + _box_rows(np.asarray(boxes)[1:]))
    return path


def read_votlt_result(results_dir, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(boxes (N, 4) with a NaN row for frame 1, confidences (N,) with NaN for frame 1)."""
    for base in (pathlib.Path(results_dir), pathlib.Path(results_dir) / "longterm"):
        path = votlt_result_path(base, name)
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"no result file for sequence {name}: "
                                f"{votlt_result_path(results_dir, name)}")
    boxes = read_region_rows(path)  # the one VOT region reader (special code 1: NaN row)
    conf_path = path.parent / f"{name}_001_confidence.value"
    if not conf_path.is_file():
        raise FileNotFoundError(f"missing confidence file {conf_path}")
    confidences = []
    for line_number, line in enumerate(conf_path.read_text().splitlines(), start=1):
        try:
            confidences.append(float(line) if line.strip() else np.nan)
        except ValueError:
            raise ValueError(f"{conf_path}:{line_number}: {line!r} is not a number") from None
    if len(confidences) != len(boxes):
        raise ValueError(f"{conf_path}: {len(confidences)} lines but {path} has {len(boxes)}")
    return boxes, np.asarray(confidences, np.float64)


# --- OxUvA -----------------------------------------------------------------------------------

def oxuva_result_path(results_dir, video: str, obj: str) -> pathlib.Path:
    return pathlib.Path(results_dir) / f"{video}_{obj}.csv"


def write_oxuva_predictions(results_dir, video: str, obj: str, frame_numbers, present, scores,
                            boxes_xxyy) -> pathlib.Path:
    lines = []
    for frame, is_present, score, box in zip(frame_numbers, present, scores, boxes_xxyy):
        xmin, xmax, ymin, ymax = (float(v) for v in box)
        lines.append(f"{video},{obj},{int(frame)},{'true' if is_present else 'false'},"
                     f"{float(score):.6f},{xmin:.6f},{xmax:.6f},{ymin:.6f},{ymax:.6f}\n")
    path = oxuva_result_path(results_dir, video, obj)
    write_text_atomic(path, "".join(lines))
    return path


def read_oxuva_predictions(path) -> dict[int, tuple[bool, float, np.ndarray]]:
    """frame number -> (present, score, box xmin, xmax, ymin, ymax)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no OxUvA prediction file {path}")
    predictions = {}
    for line_number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        where = f"{path}:{line_number}"
        if len(parts) != 9:
            raise ValueError(f"{where}: expected 9 columns video,object,frame_num,present,"
                             f"score,xmin,xmax,ymin,ymax; got {len(parts)} ({line!r})")
        try:
            frame = int(parts[2])
            numbers = [float(p) for p in parts[4:]]
        except ValueError:
            raise ValueError(f"{where}: bad number in {line!r}") from None
        predictions[frame] = (parse_present(parts[3], where), numbers[0], np.asarray(numbers[1:]))
    return predictions
