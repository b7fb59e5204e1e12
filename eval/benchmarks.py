"""Readers of the single-object benchmarks' real folder layouts (OxUvA: `oxuva_data.py`).

Each reader returns `Sequence`s in a fixed order. With `with_frames=False` (scoring) only the
annotation files are read; with `with_frames=True` (tracking) the frame files are listed too.
"""

from __future__ import annotations

import ast
import configparser
import pathlib
from typing import Callable

import numpy as np

from eval.lasot_split import LASOT_TEST_SEQUENCES
from eval.sequences import Sequence, list_frames, parse_flags, parse_number_rows

# OTB-100 sequences whose annotation starts after image 1 (first annotated image number),
# and Tiger1, whose first 5 annotated frames the OTB toolkit omits.
OTB_START_FRAME = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18}
OTB_INIT_OMIT = {"Tiger1": 5}


def _require_dir(path: pathlib.Path, what: str) -> pathlib.Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def _filter_names(available: list[str], names, what: str) -> list[str]:
    """The requested subset, in the requested order, before any per-sequence work."""
    if names is None:
        return available
    known = set(available)
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"unknown {what} sequence name(s) {missing[:5]}")
    return list(names)


def read_lasot(root, split: str | None = None, with_frames: bool = False,
               names=None) -> list[Sequence]:
    """LaSOT `<root>/<class>/<class>-<k>/` (or flat `<root>/<class>-<k>/`): groundtruth.txt,
    full_occlusion.txt, out_of_view.txt, img/%08d.jpg. The test list is the official 280
    unless `<root>/testing_set.txt` exists; `split="all"` reads every sequence folder."""
    root = _require_dir(pathlib.Path(root), "LaSOT root")
    listing = root / "testing_set.txt"
    if split == "all":
        seq_names = sorted(p.parent.name for p in root.glob("*/groundtruth.txt"))
        seq_names += sorted(p.parent.name for p in root.glob("*/*/groundtruth.txt"))
    elif listing.is_file():
        seq_names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        seq_names = list(LASOT_TEST_SEQUENCES)
    seq_names = _filter_names(seq_names, names, "LaSOT")
    sequences = []
    for name in seq_names:
        folder = root / name.rsplit("-", 1)[0] / name
        if not folder.is_dir():
            folder = root / name
        _require_dir(folder, f"LaSOT sequence {name}")
        gt = parse_number_rows(folder / "groundtruth.txt")
        occluded = parse_flags(folder / "full_occlusion.txt", len(gt))
        out_of_view = parse_flags(folder / "out_of_view.txt", len(gt))
        frames = list_frames(folder / "img") if with_frames else []
        sequences.append(Sequence(name, gt, (occluded == 0) & (out_of_view == 0), frames))
    return sequences


def _otb_targets(folder: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    files = sorted(folder.glob("groundtruth_rect*.txt"))
    targets = []
    for path in files:
        parts = path.name.split(".")  # groundtruth_rect.txt or groundtruth_rect.2.txt
        suffix = parts[1] if len(parts) == 3 else ""
        targets.append((f"{folder.name}-{suffix}" if suffix else folder.name, path))
    return targets


def read_otb(root, split: str | None = None, with_frames: bool = False,
             names=None) -> list[Sequence]:
    """OTB `<root>/<Seq>/groundtruth_rect[.k].txt` and img/NNNN.jpg. Two-target videos become
    `<Seq>-1`, `<Seq>-2`; late-starting sequences map annotation row i to image start+i."""
    root = _require_dir(pathlib.Path(root), "OTB root")
    targets = [(name, folder, gt_path)
               for folder in sorted(p for p in root.iterdir() if p.is_dir())
               for name, gt_path in _otb_targets(folder)]
    if not targets:
        raise FileNotFoundError(f"no OTB sequences (*/groundtruth_rect*.txt) under {root}")
    if names is not None:
        known = {t[0]: t for t in targets}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"unknown OTB sequence name(s) {missing[:5]}")
        targets = [known[n] for n in names]
    sequences = []
    for name, folder, gt_path in targets:
        omit = OTB_INIT_OMIT.get(folder.name, 0)
        gt = parse_number_rows(gt_path)[omit:]
        start = OTB_START_FRAME.get(folder.name, 1) + omit
        frames = []
        if with_frames:
            by_number = {int(p.stem): p for p in list_frames(folder / "img") if p.stem.isdigit()}
            missing = [i for i in range(start, start + len(gt)) if i not in by_number]
            if missing:
                raise FileNotFoundError(f"OTB {name}: image number(s) {missing[:3]} missing "
                                        f"in {folder / 'img'}")
            frames = [by_number[i] for i in range(start, start + len(gt))]
        sequences.append(Sequence(name, gt, np.ones(len(gt), bool), frames,
                                  extra={"start_frame": start}))
    return sequences


def read_tlp(root, split: str | None = None, with_frames: bool = False,
             names=None) -> list[Sequence]:
    """TLP `<root>/<Seq>/groundtruth_rect.txt` rows `frame,x,y,w,h,isLost` and img/.
    The isLost column is kept in `extra` but not used for scoring, as in common practice."""
    root = _require_dir(pathlib.Path(root), "TLP root")
    available = sorted(p.name for p in root.iterdir() if (p / "groundtruth_rect.txt").is_file())
    if not available:
        raise FileNotFoundError(f"no TLP sequences (*/groundtruth_rect.txt) under {root}")
    sequences = []
    for name in _filter_names(available, names, "TLP"):
        folder = root / name
        rows = parse_number_rows(folder / "groundtruth_rect.txt", columns=6)
        frames = list_frames(folder / "img")[: len(rows)] if with_frames else []
        sequences.append(Sequence(name, rows[:, 1:5], np.ones(len(rows), bool), frames,
                                  extra={"is_lost": rows[:, 5] > 0}))
    return sequences


def _got10k_resolution(meta_path: pathlib.Path) -> tuple[int, int]:
    if not meta_path.is_file():
        raise FileNotFoundError(f"missing GOT-10k meta file (needed for the image size): "
                                f"{meta_path}")
    text = meta_path.read_text()
    if not text.lstrip().startswith("["):
        text = "[meta]\n" + text
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        raise ValueError(f"{meta_path}: not an ini file ({err})") from None
    for section in parser.sections():
        if parser.has_option(section, "resolution"):
            text = parser.get(section, "resolution")
            try:
                width, height = ast.literal_eval(text)
                return int(width), int(height)
            except (ValueError, SyntaxError, TypeError):
                raise ValueError(f"{meta_path}: bad resolution {text!r}") from None
    raise ValueError(f"{meta_path}: no 'resolution' entry")


def read_got10k(root, split: str | None = None, with_frames: bool = False,
                names=None) -> list[Sequence]:
    """GOT-10k `<root>/<split>/list.txt` and per sequence groundtruth.txt, absence.label,
    cover.label, meta_info.ini, %08d.jpg (split: val (default) or test; test gt has 1 row)."""
    split = split or "val"
    folder = _require_dir(pathlib.Path(root) / split, f"GOT-10k {split} folder")
    listing = folder / "list.txt"
    if not listing.is_file():
        raise FileNotFoundError(f"missing GOT-10k sequence list: {listing}")
    seq_names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    sequences = []
    for name in _filter_names(seq_names, names, "GOT-10k"):
        seq_dir = _require_dir(folder / name, f"GOT-10k sequence {name}")
        gt = parse_number_rows(seq_dir / "groundtruth.txt")
        frames = list_frames(seq_dir) if with_frames else []
        if len(gt) > 1:
            absent = parse_flags(seq_dir / "absence.label", len(gt))
            cover = parse_flags(seq_dir / "cover.label", len(gt))
            image_wh = _got10k_resolution(seq_dir / "meta_info.ini")
        else:  # test split: only the initial box is public
            absent, cover, image_wh = np.zeros(1), None, None
        sequences.append(Sequence(name, gt, absent == 0, frames, image_wh, cover))
    return sequences


def read_trackingnet(root, split: str | None = None, with_frames: bool = False,
                     names=None) -> list[Sequence]:
    """TrackingNet `<root>/<split>/anno/<video>.txt`, frames/<video>/<i>.jpg from 0
    (split: TEST by default, whose annotation holds the initial box only, or TRAIN_k)."""
    split = split or "TEST"
    anno_dir = _require_dir(pathlib.Path(root) / split / "anno", f"TrackingNet {split} anno")
    available = [p.stem for p in sorted(anno_dir.glob("*.txt"))]
    sequences = []
    for path in [anno_dir / f"{n}.txt" for n in _filter_names(available, names, "TrackingNet")]:
        gt = parse_number_rows(path)
        frames = list_frames(pathlib.Path(root) / split / "frames" / path.stem) \
            if with_frames else []
        sequences.append(Sequence(path.stem, gt, np.ones(len(gt), bool), frames))
    if not sequences:
        raise FileNotFoundError(f"no TrackingNet annotations in {anno_dir}")
    return sequences


def _vot_frame_folder(seq_dir: pathlib.Path, meta: dict) -> pathlib.Path:
    pattern = meta.get("channels.color")
    if pattern:
        return seq_dir / pathlib.Path(pattern).parent
    return seq_dir / "color" if (seq_dir / "color").is_dir() else seq_dir


def read_votlt(root, split: str | None = None, with_frames: bool = False,
               names=None) -> list[Sequence]:
    """VOT-LT `<root>/list.txt`, per sequence `sequence` (key=value), groundtruth.txt with
    `nan` rows when the target is absent (8-value polygons become their bounding box),
    frames in color/%08d.jpg."""
    root = _require_dir(pathlib.Path(root), "VOT-LT root")
    listing = root / "list.txt"
    if listing.is_file():
        seq_names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        seq_names = sorted(p.parent.name for p in root.glob("*/groundtruth.txt"))
    sequences = []
    for name in _filter_names(seq_names, names, "VOT-LT"):
        seq_dir = _require_dir(root / name, f"VOT-LT sequence {name}")
        meta = {}
        if (seq_dir / "sequence").is_file():
            for line in (seq_dir / "sequence").read_text().splitlines():
                if "=" in line:
                    key, value = line.split("=", 1)
                    meta[key.strip()] = value.strip()
        rows = parse_number_rows(seq_dir / "groundtruth.txt", columns=None, allow_nan=True)
        if rows.shape[1] == 8:
            xs, ys = rows[:, 0::2], rows[:, 1::2]
            rows = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1),
                             ys.max(1) - ys.min(1)], axis=1)
        elif rows.shape[1] != 4:
            raise ValueError(f"{seq_dir / 'groundtruth.txt'}: expected 4 or 8 values per row")
        image_wh = (int(meta["width"]), int(meta["height"])) \
            if "width" in meta and "height" in meta else None
        frames = list_frames(_vot_frame_folder(seq_dir, meta))[: len(rows)] if with_frames else []
        present = ~np.isnan(rows).any(axis=1)
        if not present[0]:
            raise ValueError(f"VOT-LT {name}: the target is absent in frame 1 "
                             f"({seq_dir / 'groundtruth.txt'}:1)")
        sequences.append(Sequence(name, rows, present, frames, image_wh))
    return sequences


READERS: dict[str, Callable[..., list[Sequence]]] = {
    "lasot": read_lasot, "otb": read_otb, "tlp": read_tlp, "got10k": read_got10k,
    "trackingnet": read_trackingnet, "votlt": read_votlt,
}
