"""Tiny benchmark folders written into tmp_path, in the real layouts (fixture `bench_files`)."""

from __future__ import annotations

import pathlib
import types

import cv2
import numpy as np
import pytest


def write_rows(path: pathlib.Path, rows, delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(delimiter.join(str(v) for v in row) + "\n" for row in rows))


def write_frame(path: pathlib.Path, sequence_id: int, frame_index: int, hw=(24, 32)) -> None:
    """A small PNG whose pixel (0, 0) encodes the sequence and (0, 1) the frame index, so a
    fake tracker can look up where it is."""
    image = np.zeros((*hw, 3), np.uint8)
    image[0, 0] = sequence_id
    image[0, 1] = frame_index
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def make_lasot(root: pathlib.Path, sequences: dict[str, dict], with_images: bool = False):
    """sequences: name -> {"gt": rows, "occlusion": flags, "out_of_view": flags}."""
    (root).mkdir(parents=True, exist_ok=True)
    (root / "testing_set.txt").write_text("".join(f"{n}\n" for n in sequences))
    for index, (name, spec) in enumerate(sequences.items()):
        folder = root / name.rsplit("-", 1)[0] / name
        write_rows(folder / "groundtruth.txt", spec["gt"])
        n = len(spec["gt"])
        occlusion = spec.get("occlusion", [0] * n)
        out_of_view = spec.get("out_of_view", [0] * n)
        (folder / "full_occlusion.txt").write_text(",".join(str(v) for v in occlusion) + "\n")
        (folder / "out_of_view.txt").write_text(",".join(str(v) for v in out_of_view) + "\n")
        if with_images:
            for i in range(n):
                write_frame(folder / "img" / f"{i + 1:08d}.png", index, i)
    return root


@pytest.fixture
def bench_files():
    """The writers above, for tests (pytest's importlib mode cannot import this file)."""
    return types.SimpleNamespace(write_rows=write_rows, write_frame=write_frame,
                                 make_lasot=make_lasot)
