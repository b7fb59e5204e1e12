"""Nothing tracked is lost: `dmtrack track` under SIGTERM (a real one, in a subprocess), and a
resumed run that equals an uninterrupted one row for row."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT

from .test_track_cli import count_video_frames

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")

SMALL = "--config.tracker.input_size=(96, 128)"
REPO = DEFAULT_CHECKPOINT.parent.parent


def _frames(tmp_path, frames, seed=5):
    [sequence_dir] = write_dataset(str(tmp_path / "data"), "lasot", 1, frames, seed=seed,
                                   image_size=(96, 128))
    first = open(f"{sequence_dir}/groundtruth.txt").readline().strip()
    return f"{sequence_dir}/img", first


def _long_folder(tmp_path, copies):
    """The frames of a short synthetic sequence repeated `copies` times (a long video cheaply)."""
    source, first = _frames(tmp_path, 20)
    folder = tmp_path / "long"
    folder.mkdir()
    files = sorted(os.listdir(source))
    for k in range(copies * len(files)):
        os.link(os.path.join(source, files[k % len(files)]), folder / f"{k + 1:05d}.jpg")
    return folder, first


def test_sigterm_keeps_the_rows_on_disk_and_the_video_playable(tmp_path):
    folder, first = _long_folder(tmp_path, 100)  # 2000 frames: far more than get tracked
    results, video = tmp_path / "r", tmp_path / "v.mp4"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("DMTRACK_DEBUG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "dmtrack_apps.cli", "track", str(folder), "--box", first,
         "--checkpoint", str(DEFAULT_CHECKPOINT), "--out", str(results), "--video", str(video),
         SMALL], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = results / "long.partial"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if partial.is_file() and partial.read_text().count("\n") >= 10:
            break
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    rows = np.loadtxt(partial, delimiter=",")
    n = len(rows)
    assert 10 <= n < 2000 and rows.shape[1] == 6
    assert f"stopped by SIGTERM after frame {n} of 2000: the {n} frames tracked are in " \
           f"{partial}; video: {video} ({n} frames)" in err
    assert "run the same command again to resume" in err
    assert not (results / "long.txt").exists()
    # The video was finalised: it opens and holds one frame per tracked frame.
    assert count_video_frames(video) == (n, "h264")


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    from dmtrack_jax.tracking.tracker import Tracker

    source, first = _frames(tmp_path, 20)
    command = ["track", source, "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT), SMALL]
    # Uninterrupted.
    assert main(command + ["--out", str(tmp_path / "whole")]) == 0
    # Interrupted by a real SIGTERM delivered while frame 8 is tracked.
    real_track, calls = Tracker.track, []

    def track_then_sigterm(self, frame):
        calls.append(1)
        if len(calls) == 7:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_track(self, frame)

    monkeypatch.setattr(Tracker, "track", track_then_sigterm)
    resumed, video = tmp_path / "resumed", tmp_path / "v.mp4"
    assert main(command + ["--out", str(resumed), "--video", str(video)]) == 143
    err = capsys.readouterr().err
    partial = next(resumed.glob("*.partial"))
    name = partial.stem
    assert np.loadtxt(partial, delimiter=",").shape == (8, 6)
    assert f"the 8 frames tracked are in {partial}" in err
    assert count_video_frames(video)[0] == 8
    monkeypatch.setattr(Tracker, "track", real_track)

    # A partial result from another start box is refused, naming the file.
    assert main(["track", source, "--box", "1,1,30,30", "--checkpoint",
                 str(DEFAULT_CHECKPOINT), "--out", str(resumed)]) == 2
    assert f"{partial} was started from the box" in capsys.readouterr().err

    # The same command again resumes after frame 8 ...
    assert main(command + ["--out", str(resumed), "--video", str(video)]) == 0
    err = capsys.readouterr().err
    assert f"resuming {name}: {partial} holds 8 frames" in err
    assert not partial.exists()
    # ... and its rows equal the uninterrupted run's, as text.
    for suffix in (".txt", "_confidence.value"):
        assert (resumed / f"{name}{suffix}").read_text() == \
            (tmp_path / "whole" / f"{name}{suffix}").read_text(), suffix
    assert len(np.loadtxt(resumed / f"{name}_time.txt")) == 20
    assert count_video_frames(video)[0] == 20  # the video covers the whole sequence again


def test_resume_refuses_rows_the_tracker_does_not_reproduce(tmp_path, capsys):
    source, first = _frames(tmp_path, 6)
    results = tmp_path / "r"
    results.mkdir()
    box = [float(v) for v in first.split(",")]
    rows = [box + [1.0, 0.1]] + [[1.0, 2.0, 30.0, 30.0, 0.5, 0.1]] * 3
    name = source.split("/")[-2]
    (results / f"{name}.partial").write_text(
        "".join(",".join(f"{v:.4f}" for v in r) + "\n" for r in rows) + "1.0,2.0,3")  # torn
    assert main(["track", source, "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT),
                 "--out", str(results), SMALL]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: frame 2 tracks to" in err
    assert "another checkpoint, setting or source; pass --overwrite" in err
    # With --overwrite it starts afresh.
    assert main(["track", source, "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT),
                 "--out", str(results), "--overwrite", SMALL]) == 0
    assert np.loadtxt(results / f"{name}.txt", delimiter=",").shape == (6, 4)
