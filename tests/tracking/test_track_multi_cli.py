"""`dmtrack track --box ... --box ... [--boxes FILE]`: K targets, one result set per target."""

import numpy as np
import pytest

from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_apps.track import read_boxes_file, target_names

from .test_track_cli import _sequence, count_video_frames

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")

SMALL = "--config.tracker.input_size=(96, 128)"
TOP1 = "--config.tracker.selection_mode=top1"
SECOND = "70,20,24,24"


def test_two_targets_write_one_result_set_each_equal_to_single_runs(tmp_path, capsys):
    _, sequence_dir, first = _sequence(tmp_path, 6)
    source = f"{sequence_dir}/img"
    common = ["--checkpoint", str(DEFAULT_CHECKPOINT), SMALL, TOP1]
    boxes_file = tmp_path / "targets.csv"
    boxes_file.write_text(f"# x,y,w,h,name\n{SECOND},car\n")
    video = tmp_path / "multi.mp4"
    assert main(["track", source, "--box", first, "--boxes", str(boxes_file), "--name", "seq",
                 "--out", str(tmp_path / "multi"), "--video", str(video)] + common) == 0
    assert "wrote 6 rows for each of 2 targets" in capsys.readouterr().out
    multi = tmp_path / "multi"
    assert sorted(p.name for p in multi.iterdir()) == [
        "seq_1.txt", "seq_1_confidence.value", "seq_1_time.txt",
        "seq_car.txt", "seq_car_confidence.value", "seq_car_time.txt"]
    assert count_video_frames(video)[0] == 6
    # Each target's rows equal a one-target run from its box (top1: no cross-target rule).
    for box, name in ((first, "seq_1"), (SECOND, "seq_car")):
        out = tmp_path / f"single_{name}"
        assert main(["track", source, "--box", box, "--name", name, "--out", str(out)]
                    + common) == 0
        np.testing.assert_allclose(np.loadtxt(multi / f"{name}.txt", delimiter=","),
                                   np.loadtxt(out / f"{name}.txt", delimiter=","), atol=2e-3)
        np.testing.assert_allclose(np.loadtxt(multi / f"{name}_confidence.value"),
                                   np.loadtxt(out / f"{name}_confidence.value"), atol=1e-4)
    first_row = np.loadtxt(multi / "seq_car.txt", delimiter=",")[0]
    np.testing.assert_allclose(first_row, [70, 20, 24, 24])


def test_boxes_file_and_names_are_checked_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match=r"bad.csv:2: expected x,y,w,h or x,y,w,h,name"):
        read_boxes_file(bad)
    good = tmp_path / "good.csv"
    good.write_text("\n1,2,3,4\n5,6,7,8, dog # comment\n")
    boxes, names = read_boxes_file(good)
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert names == [None, "dog"]
    assert target_names("v", [None, None, "dog"]) == ["v_1", "v_2", "v_dog"]
    with pytest.raises(ValueError, match="both write v_2.txt"):
        target_names("v", [None, None, "2"])
    _, sequence_dir, first = _sequence(tmp_path, 3)
    args = ["track", f"{sequence_dir}/img", "--checkpoint", str(DEFAULT_CHECKPOINT), "--out",
            str(tmp_path / "r")]
    assert main(args + ["--box", first, "--box", "10,10,0,5"]) == 2
    assert "target 1: the initial box" in capsys.readouterr().err
    assert main(args) == 2
    assert "give the first-frame box" in capsys.readouterr().err
