"""`dmtrack track` end to end on a folder of frames with the shipped tiny checkpoint."""

import numpy as np
import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")


def test_track_writes_one_row_per_frame_and_a_video(tmp_path, capsys):
    [sequence_dir] = write_dataset(str(tmp_path / "data"), "lasot", 1, 12, seed=3,
                                   image_size=(96, 128))
    first = open(f"{sequence_dir}/groundtruth.txt").readline().strip()
    out = tmp_path / "res" / "rows.txt"
    video = tmp_path / "res" / "annotated.mp4"
    code = main(["track", f"{sequence_dir}/img", "--box", first, "--checkpoint",
                 str(DEFAULT_CHECKPOINT), "--out", str(out), "--video", str(video),
                 "--config.tracker.input_size=(96, 128)", "--config.tracker.selection_mode=top1"])
    assert code == 0
    rows = np.loadtxt(out, delimiter=",")
    assert rows.shape == (12, 5)
    np.testing.assert_allclose(rows[0], [float(v) for v in first.split(",")] + [1.0])
    assert np.all((rows[1:, 4] >= 0) & (rows[1:, 4] <= 1))
    assert np.all(rows[:, 2:4] > 0)
    assert video.stat().st_size > 1000
    assert "wrote 12 rows" in capsys.readouterr().out


def test_track_rejects_bad_input_in_one_line(tmp_path, capsys):
    [sequence_dir] = write_dataset(str(tmp_path / "data"), "lasot", 1, 3, seed=4,
                                   image_size=(64, 64))
    args = ["--checkpoint", str(DEFAULT_CHECKPOINT), "--out", str(tmp_path / "r.txt")]
    assert main(["track", f"{sequence_dir}/img", "--box", "1,2,3"] + args) == 2
    assert "--box must be four numbers" in capsys.readouterr().err
    assert main(["track", f"{sequence_dir}/img", "--box", "10,10,0,5"] + args) == 2
    assert "zero or negative size" in capsys.readouterr().err
    assert main(["track", str(tmp_path / "missing"), "--box", "1,2,3,4"] + args) == 2
    assert "no such video or frame folder" in capsys.readouterr().err
    assert not (tmp_path / "r.txt").exists()
