"""OxUvA tracks: the task list, the 1 Hz annotations, frames, and scoring of a results folder.

Layout: `<root>/tasks/{dev,test}.csv` rows `video,object,init_frame,last_frame,xmin,xmax,
ymin,ymax`; `<root>/annotations/{dev,test}.csv` rows `video,object,class_id,class_name,
contains_cuts,always_visible,frame_num,present,xmin,xmax,ymin,ymax` (a 10-column variant
without contains_cuts/always_visible is accepted too); `<root>/images/{dev,test}/<video>/
<frame:06d>.jpeg`. Boxes are fractions of the image size.
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np

from eval import oxuva_metrics
from eval.result_files import oxuva_result_path, parse_present, read_oxuva_predictions
from eval.sequences import list_frames


@dataclasses.dataclass
class OxuvaTrack:
    video: str
    object: str
    init_frame: int
    last_frame: int
    init_box_xxyy: np.ndarray
    frame_paths: list[pathlib.Path] = dataclasses.field(default_factory=list)
    frame_numbers: list[int] = dataclasses.field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.video}_{self.object}"


def _rows(path: pathlib.Path):
    if not path.is_file():
        raise FileNotFoundError(f"missing OxUvA file {path}")
    with open(path, newline="") as f:
        for line_number, row in enumerate(csv.reader(f), start=1):
            if row and any(cell.strip() for cell in row):
                yield line_number, [cell.strip() for cell in row]


def read_tasks(root, split: str = "dev", with_frames: bool = False) -> list[OxuvaTrack]:
    root = pathlib.Path(root)
    tracks = []
    for line_number, row in _rows(root / "tasks" / f"{split}.csv"):
        where = f"{root / 'tasks' / f'{split}.csv'}:{line_number}"
        if len(row) != 8:
            raise ValueError(f"{where}: expected 8 columns, got {len(row)}")
        try:
            track = OxuvaTrack(row[0], row[1], int(row[2]), int(row[3]),
                               np.asarray([float(v) for v in row[4:8]]))
        except ValueError:
            raise ValueError(f"{where}: bad number in {row}") from None
        if with_frames:
            frames = [p for p in list_frames(root / "images" / split / track.video)
                      if p.stem.isdigit() and track.init_frame <= int(p.stem) <= track.last_frame]
            if not frames or int(frames[0].stem) != track.init_frame:
                raise FileNotFoundError(f"{where}: initial frame {track.init_frame:06d} not in "
                                        f"{root / 'images' / split / track.video}")
            track.frame_paths = frames
            track.frame_numbers = [int(p.stem) for p in frames]
        tracks.append(track)
    return tracks


def read_annotations(root, split: str = "dev") -> dict[tuple[str, str], dict]:
    """(video, object) -> {frame_num: (present, box xmin, xmax, ymin, ymax)}."""
    path = pathlib.Path(root) / "annotations" / f"{split}.csv"
    annotations: dict[tuple[str, str], dict] = {}
    for line_number, row in _rows(path):
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


def align_predictions(predictions: dict, frames: list[int]):
    """Prediction at each annotated frame; a missing one takes the latest earlier prediction
    (none at all: reported absent)."""
    known = sorted(predictions)
    present, boxes = [], []
    for frame in frames:
        index = np.searchsorted(known, frame, side="right") - 1
        if index >= 0:
            is_present, _, box = predictions[known[index]]
        else:
            is_present, box = False, np.zeros(4)
        present.append(is_present)
        boxes.append(box)
    return np.asarray(present, bool), np.asarray(boxes, np.float64).reshape(-1, 4)


def score_results(tracks: list[OxuvaTrack], annotations: dict, results_dir) -> dict:
    """TPR, TNR, MaxGM with counts summed over all tracks (the init frame not scored)."""
    total = oxuva_metrics.OxuvaCounts()
    for track in tracks:
        labels = annotations.get((track.video, track.object))
        if labels is None:
            raise ValueError(f"no annotations for OxUvA track {track.video} {track.object}")
        frames = sorted(f for f in labels if track.init_frame < f <= track.last_frame)
        predictions = read_oxuva_predictions(oxuva_result_path(results_dir, track.video,
                                                               track.object))
        pred_present, pred_boxes = align_predictions(predictions, frames)
        gt_present = np.asarray([labels[f][0] for f in frames], bool)
        gt_boxes = np.asarray([labels[f][1] for f in frames], np.float64).reshape(-1, 4)
        total = total + oxuva_metrics.count_track(gt_present, gt_boxes, pred_present, pred_boxes)
    return oxuva_metrics.summarise(total)


def track_to_sequence(track: OxuvaTrack):
    """The runner's view of a track: frames from the initial one, the box as fractions."""
    from eval.sequences import Sequence

    return Sequence(track.name, np.full((1, 4), np.nan), np.ones(1, bool), track.frame_paths,
                    extra={"video": track.video, "object": track.object,
                           "frame_numbers": track.frame_numbers,
                           "init_box_xxyy": track.init_box_xxyy})
