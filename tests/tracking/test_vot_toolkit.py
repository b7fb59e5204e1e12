"""`dmtrack vot` driven by the official VOT toolkit (`vot-toolkit`, PyPI) over TraX (`vot-trax`).

The toolkit runs a local workspace built here from synthetic sequences in the VOT sequence
layout (`sequences/list.txt`; per sequence a `sequence` file with `channels.color=
color/%08d.jpg`, `color/00000001.jpg...`, `groundtruth.txt`, as `vot.dataset.common.
read_sequence` reads them), with the real long-term stack `vot2022/longterm` (its `longterm`
experiment, selected with `--experiments`; nothing is downloaded: `Workspace.load` never
downloads and the sequences are already there). The tracker is registered in the workspace's
`trackers.ini` as the README shows, launched by the toolkit as a subprocess running this
checkout (`PYTHONPATH` = the repository root of this file) with the shipped tiny checkpoint.

Checked: the toolkit's stored trajectory (`results/dmtrack/longterm/<seq>/<seq>_001.txt`: `1`
on frame 1, the initialisation, then `x,y,w,h`) and its confidences
(`<seq>_001_confidence.value`) equal `dmtrack track`'s rows and confidences on the same frames
within float formatting (TraX carries float32: 2e-4 px; `dmtrack track` writes 4 decimals);
the same sequence initialised with a polygon (a diamond whose bounding box is the rectangle)
gives the same rows, since a polygon is reduced to its bounding box as the toolkit does.

Where the toolkit runs: the Python running the tests if it imports `vot`, else the Python
named by `DMTRACK_VOT_PYTHON` (a separate environment: vot-toolkit pulls in opencv-python
beside our opencv-python-headless, see README). Without either the test skips with the reason.
"""

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL = "--config.tracker.input_size=(96, 128)"  # the frames' own size: no resize
FRAMES = 12


def _toolkit_python() -> str | None:
    named = os.environ.get("DMTRACK_VOT_PYTHON")
    if named:
        return named
    if importlib.util.find_spec("vot") is not None:
        return sys.executable
    return None


pytestmark = [
    pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                       reason="the shipped checkpoint checkpoints/tiny is missing"),
    pytest.mark.skipif(importlib.util.find_spec("trax") is None,
                       reason="vot-trax is not installed (pip install 'dmtrack-jax[vot]'): "
                              "dmtrack vot cannot speak TraX"),
    pytest.mark.skipif(_toolkit_python() is None,
                       reason="the VOT toolkit is not installed here (pip install vot-toolkit) "
                              "and DMTRACK_VOT_PYTHON names no Python that has it"),
]


def _diamond(box) -> str:
    x, y, w, h = box
    points = [(x, y + h / 2), (x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h)]
    return ",".join(f"{v:g}" for point in points for v in point)


def _write_vot_sequence(sequences: pathlib.Path, name: str, frames: list[pathlib.Path],
                        groundtruth: list[str]) -> None:
    root = sequences / name
    (root / "color").mkdir(parents=True)
    for index, frame in enumerate(frames, start=1):
        shutil.copyfile(frame, root / "color" / f"{index:08d}.jpg")
    (root / "sequence").write_text("channels.color=color/%08d.jpg\nformat=default\nfps=30\n"
                                   f"name={name}\n")
    (root / "groundtruth.txt").write_text("".join(row + "\n" for row in groundtruth))


def _vot(python: str, workspace: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    # VOT_RESULTS_BINARY=false: text trajectories (`<seq>_001.txt`), the VOT-LT submission
    # format, instead of the toolkit's default `.bin` (`vot.config.results_binary`).
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), VOT_RESULTS_BINARY="false")
    process = subprocess.run([python, "-m", "vot", *args, "--workspace", str(workspace)],
                             env=env, capture_output=True, text=True, timeout=900)
    output = process.stdout + process.stderr
    # The toolkit exits 0 even when a tracker fails; it says so in its log lines.
    assert process.returncode == 0 and "interrupted" not in output, output
    return process


def test_the_vot_toolkit_stores_what_dmtrack_track_gives(tmp_path):
    [sequence_dir] = write_dataset(str(tmp_path / "data"), "lasot", 1, FRAMES, seed=3,
                                   image_size=(96, 128))
    sequence_dir = pathlib.Path(sequence_dir)
    frames = sorted((sequence_dir / "img").glob("*.jpg"))
    groundtruth = (sequence_dir / "groundtruth.txt").read_text().split()
    assert len(frames) == FRAMES == len(groundtruth)
    first = [float(v) for v in groundtruth[0].split(",")]

    # The reference: `dmtrack track` on the same frames from the same box.
    reference = tmp_path / "reference"
    assert main(["track", str(sequence_dir / "img"), "--box", groundtruth[0], "--checkpoint",
                 str(DEFAULT_CHECKPOINT), "--out", str(reference / "seq.txt"), SMALL]) == 0
    expected_boxes = np.loadtxt(reference / "seq.txt", delimiter=",")
    expected_confidences = np.loadtxt(reference / "seq_confidence.value")
    assert expected_boxes.shape == (FRAMES, 4)
    # Not a trivial trajectory: the target moves and the tracker follows it.
    assert np.ptp(expected_boxes[:, 0]) > 5

    # The workspace: the real long-term stack, our sequences, our tracker.
    workspace = tmp_path / "workspace"
    sequences = workspace / "sequences"
    _write_vot_sequence(sequences, "rect", frames, groundtruth)
    _write_vot_sequence(sequences, "poly", frames, [_diamond(first)] + groundtruth[1:])
    (sequences / "list.txt").write_text("rect\npoly\n")
    (workspace / "config.yaml").write_text("stack: vot2022/longterm\nregistry:\n"
                                           "- ./trackers.ini\n")
    (workspace / "trackers.ini").write_text(
        "[dmtrack]\n"
        "label = DMTrack (JAX)\n"
        "protocol = trax\n"
        f"command = {sys.executable} -m dmtrack_apps.cli vot --checkpoint {DEFAULT_CHECKPOINT} "
        f"'{SMALL}'\n"
        f"env_PYTHONPATH = {REPO_ROOT}\n"
        # Loading and compiling happen before the first reply: more than the default 30 s on
        # a busy 2-core machine.
        "timeout = 600\n")

    python = _toolkit_python()
    _vot(python, workspace, "evaluate", "--experiments", "longterm", "dmtrack")

    for name in ("rect", "poly"):
        stored = workspace / "results" / "dmtrack" / "longterm" / name
        lines = (stored / f"{name}_001.txt").read_text().splitlines()
        assert len(lines) == FRAMES, (name, lines)
        assert lines[0].strip() == "1", "frame 1 is stored as the initialisation marker"
        boxes = np.asarray([[float(v) for v in line.split(",")] for line in lines[1:]])
        np.testing.assert_allclose(boxes, expected_boxes[1:], atol=2e-4, rtol=0,
                                   err_msg=name)
        confidences = [line.strip() for line in
                       (stored / f"{name}_001_confidence.value").read_text().splitlines()]
        assert len(confidences) == FRAMES
        assert float(confidences[0]) == 1.0  # our reply to initialize
        np.testing.assert_allclose([float(c) for c in confidences[1:]],
                                   expected_confidences[1:], atol=2e-6, rtol=0, err_msg=name)
