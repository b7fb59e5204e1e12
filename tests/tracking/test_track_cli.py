"""`dmtrack track` end to end with the shipped tiny checkpoint: the result layout that
`dmtrack eval` scores, checks before work, frames as they really come, boxes and checkpoints.
(Interruption and resume: test_track_resume.py.)"""

import json
import math
import shutil

import cv2
import numpy as np
import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_apps.track import smallest_box_side

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")

SMALL = "--config.tracker.input_size=(96, 128)"  # the frames' own size: no resize


def _sequence(tmp_path, frames, seed=3, size=(96, 128)):
    root = tmp_path / "data"
    [sequence_dir] = write_dataset(str(root), "lasot", 1, frames, seed=seed, image_size=size)
    first = open(f"{sequence_dir}/groundtruth.txt").readline().strip()
    return root, sequence_dir, first


def count_video_frames(path) -> tuple[int, str]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count, fourcc


def test_track_writes_the_ope_layout_and_eval_scores_it_like_the_demo_scorer(tmp_path, capsys):
    from eval import synthetic_benchmark as sb

    root, sequence_dir, first = _sequence(tmp_path, 16)
    name = sequence_dir.rstrip("/").split("/")[-1]
    results = tmp_path / "results"
    video = tmp_path / "annotated.mp4"
    command = ["track", f"{sequence_dir}/img", "--box", first, "--checkpoint",
               str(DEFAULT_CHECKPOINT), "--out", str(results), "--video", str(video), SMALL]
    assert main(command) == 0
    captured = capsys.readouterr()
    assert f"wrote 16 rows to {results / (name + '.txt')}" in captured.out
    # The name comes from the LaSOT folder `<name>/img`; 4 columns, frame 1 is the given box.
    rows = np.loadtxt(results / f"{name}.txt", delimiter=",")
    assert rows.shape == (16, 4)
    np.testing.assert_allclose(rows[0], [float(v) for v in first.split(",")])
    confidences = np.loadtxt(results / f"{name}_confidence.value")
    assert confidences.shape == (16,) and confidences[0] == 1.0
    assert np.all((confidences >= 0) & (confidences <= 1))
    times = np.loadtxt(results / f"{name}_time.txt")
    assert times.shape == (16,) and np.all(times > 0)
    assert not (results / f"{name}.partial").exists()
    assert count_video_frames(video) == (16, "h264")
    # Printed once: this model knows only synthetic scenes.
    assert captured.err.count("trained only on synthetic data") == 1
    assert "dmtrack convert" in captured.err

    # `dmtrack eval` scores the folder as is, to the demo scorer's values.
    scores_path = tmp_path / "scores.json"
    assert main(["eval", "--benchmark", "lasot", "--root", str(root), "--split", "all", "--results-dir",
                 str(results), "--sequences", name, "--json", str(scores_path)]) == 0
    scores = json.loads(scores_path.read_text())
    [video_in_memory] = sb.make_videos(1, 16, (96, 128), seed=3)
    assert sb.video_names([video_in_memory]) == [name]
    expected = sb.score([video_in_memory], [sb.TrackedVideo(name, rows, confidences)], 0.1)
    for key in ("success", "precision", "norm_precision"):
        assert scores[key] == pytest.approx(expected[key], abs=1e-9), key

    # The same command again: refused before any work, the result untouched.
    before = (results / f"{name}.txt").read_text()
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "already holds a finished result" in err and "--overwrite" in err
    assert (results / f"{name}.txt").read_text() == before


def test_negative_box_parses_and_out_may_name_the_result_file(tmp_path, capsys):
    _, sequence_dir, _ = _sequence(tmp_path, 4)
    out = tmp_path / "res" / "mine.txt"
    assert main(["track", f"{sequence_dir}/img", "--box", "-20,10,60,40", "--checkpoint",
                 str(DEFAULT_CHECKPOINT), "--out", str(out), SMALL]) == 0
    rows = np.loadtxt(out, delimiter=",")
    np.testing.assert_allclose(rows[0], [-20, 10, 60, 40])
    assert rows.shape == (4, 4)
    assert (tmp_path / "res" / "mine_confidence.value").is_file()
    assert (tmp_path / "res" / "mine_time.txt").is_file()


def test_every_output_is_checked_before_the_model_loads(tmp_path, capsys, monkeypatch):
    from dmtrack_jax.tracking.tracker import Tracker

    def never(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the outputs were checked")

    monkeypatch.setattr(Tracker, "from_checkpoint", never)
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    _, sequence_dir, first = _sequence(tmp_path, 3)
    (tmp_path / "taken.txt").mkdir()
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "folder.mp4").mkdir()
    cases = [
        (["--out", "/proc/h9_no/x.txt"], "--out /proc/h9_no: cannot write there"),
        (["--out", str(tmp_path / "taken.txt")], f"{tmp_path / 'taken.txt'} is an existing folder"),
        (["--out", str(tmp_path / "a_file")], f"--out {tmp_path / 'a_file'}: is an existing file"),
        (["--out", str(tmp_path / "r"), "--video", "/proc/v.mp4"],
         "--video /proc: cannot write there"),
        (["--out", str(tmp_path / "r"), "--video", str(tmp_path / "v.gif")],
         "unsupported extension '.gif'"),
        (["--out", str(tmp_path / "r"), "--video", str(tmp_path / "folder.mp4")],
         f"--video {tmp_path / 'folder.mp4'} is an existing folder"),
    ]
    for extra, message in cases:
        code = main(["track", f"{sequence_dir}/img", "--box", first, "--checkpoint",
                     str(DEFAULT_CHECKPOINT)] + extra)
        err = capsys.readouterr().err
        assert code == 2, extra
        assert message in err, (message, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


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


def test_smallest_box_side_follows_the_scale_into_the_input():
    # 640x360 into 128x160: scale min(128/360, 160/640) = 0.25; finest stride 8 -> 32 px.
    assert smallest_box_side((360, 640), (128, 160), (8, 16, 32)) == 32
    assert smallest_box_side((96, 128), (128, 160), (8, 16, 32)) == math.ceil(8 / 1.25)


def test_a_box_too_small_for_the_strides_gets_a_warning(tmp_path, capsys):
    _, sequence_dir, _ = _sequence(tmp_path, 3)
    assert main(["track", f"{sequence_dir}/img", "--box", "40,40,1,1", "--checkpoint",
                 str(DEFAULT_CHECKPOINT), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    # 96x128 frames into the checkpoint's 128x160 input: scale 1.25, finest stride 8.
    assert "the box 1x1 px is smaller than this model can see" in err
    assert "finest stride is 8 px; boxes of at least 7x7 px make sense" in err


def _frames_of_every_kind(folder, base):
    """Frames 1..9: RGB JPEG, grayscale PNG, RGBA PNG, 16-bit PNG, another size, a truncated
    JPEG, RGB JPEG, a very large and a very small frame (all the same scene)."""
    folder.mkdir()
    bgr = [cv2.imread(str(p)) for p in base]
    cv2.imwrite(str(folder / "00000001.jpg"), bgr[0])
    cv2.imwrite(str(folder / "00000002.png"), cv2.cvtColor(bgr[1], cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "00000003.png"), cv2.cvtColor(bgr[2], cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "00000004.png"), bgr[3].astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "00000005.jpg"), cv2.resize(bgr[4], (160, 120)))
    data = cv2.imencode(".jpg", bgr[5])[1].tobytes()
    (folder / "00000006.jpg").write_bytes(data[: len(data) * 2 // 3])
    cv2.imwrite(str(folder / "00000007.jpg"), bgr[6])
    cv2.imwrite(str(folder / "00000008.jpg"), cv2.resize(bgr[7], (2048, 1536)))
    cv2.imwrite(str(folder / "00000009.png"), cv2.resize(bgr[8], (32, 24)))


def test_frames_of_every_kind_are_tracked_warned_about_and_all_in_the_video(tmp_path, capsys):
    _, sequence_dir, first = _sequence(tmp_path, 9)
    base = sorted((tmp_path / "data").glob("*/*/img/*.jpg"))
    folder = tmp_path / "mixed"
    _frames_of_every_kind(folder, base)
    video = tmp_path / "mixed.mp4"
    assert main(["track", str(folder), "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT),
                 "--out", str(tmp_path / "r"), "--video", str(video), SMALL]) == 0
    err = capsys.readouterr().err
    assert f"truncated JPEG (no end-of-image marker): {folder / '00000006.jpg'}" in err
    rows = np.loadtxt(tmp_path / "r" / "mixed.txt", delimiter=",")
    assert rows.shape == (9, 4) and np.all(np.isfinite(rows)) and np.all(rows[:, 2:] > 0)
    # Frames of another size are tracked in their own pixels and resized into the video.
    assert count_video_frames(video)[0] == 9


def test_an_undecodable_frame_stops_naming_it_and_keeps_the_rows(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    _, sequence_dir, first = _sequence(tmp_path, 8)
    folder = tmp_path / "frames"
    shutil.copytree(f"{sequence_dir}/img", folder)
    (folder / "00000006.jpg").write_bytes(b"not an image at all")
    video = tmp_path / "v.mp4"
    assert main(["track", str(folder), "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT),
                 "--out", str(tmp_path / "r"), "--video", str(video), SMALL]) == 2
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("dmtrack track:")]
    assert len(error_lines) == 1 and "Traceback" not in err
    assert f"unreadable image (corrupt or unsupported format): {folder / '00000006.jpg'}" in err
    partial = tmp_path / "r" / "frames.partial"
    assert f"the 5 frames tracked are in {partial}" in err
    assert f"video: {video} (5 frames)" in err
    assert np.loadtxt(partial, delimiter=",").shape == (5, 6)
    assert not (tmp_path / "r" / "frames.txt").exists()
    assert count_video_frames(video)[0] == 5


def test_a_truncated_video_stream_is_reported_when_it_ends(tmp_path, capsys):
    _, sequence_dir, first = _sequence(tmp_path, 30)
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 96))
    for path in sorted((tmp_path / "data").glob("*/*/img/*.jpg")):
        writer.write(cv2.imread(str(path)))
    writer.release()
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    from dmtrack_common.frames import count_frames, read_frames

    decodable = sum(1 for _ in read_frames(cut))
    assert count_frames(cut) == 30 and 1 < decodable < 30
    assert main(["track", str(cut), "--box", first, "--checkpoint", str(DEFAULT_CHECKPOINT),
                 "--out", str(tmp_path / "r"), SMALL]) == 0
    err = capsys.readouterr().err
    assert (f"{cut} announces 30 frames but decoding stopped after {decodable}") in err
    assert np.loadtxt(tmp_path / "r" / "cut.txt", delimiter=",").shape == (decodable, 4)
