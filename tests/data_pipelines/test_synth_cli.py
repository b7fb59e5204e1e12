"""`dmtrack synth` in-process: the exact documented command, the layouts, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipelines import datasets, synthetic
from dmtrack_apps.cli import main


def test_documented_command_writes_a_readable_lasot_dataset(tmp_path):
    out = tmp_path / "lasot"
    assert main(["synth", "--out", str(out), "--format", "lasot", "--sequences", "2", "--frames", "20", "--seed", "7"]) == 0
    sequences = datasets.read_dataset("lasot", str(out))
    assert len(sequences) == 2
    # The files hold exactly what the in-process generator makes for the same dataset seed.
    expected = list(synthetic.iter_dataset(2, 20, 7))
    counts: dict[str, int] = {}
    by_name = {s.name: s for s in sequences}
    for video in expected:
        counts[video.object_class] = counts.get(video.object_class, 0) + 1
        sequence = by_name[f"{video.object_class}-{counts[video.object_class]}"]
        np.testing.assert_array_equal(sequence.boxes, video.boxes[:, 0])
        np.testing.assert_array_equal(sequence.absent, video.target_absent)
        assert video.frames.shape[1:3] == (160, 224)
    # Training's default LaSOT split reads the set's own training_set.txt (no official names).
    assert [s.name for s in datasets.read_dataset("lasot", str(out), split="train")] == \
        sorted(by_name)


def test_same_seed_gives_identical_files(tmp_path):
    args = ["--format", "got10k", "--sequences", "1", "--frames", "20", "--seed", "3", "--height", "64", "--width", "80"]
    assert main(["synth", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["synth", "--out", str(tmp_path / "b"), *args]) == 0
    sequence_dir = "train/GOT-10k_Train_000001"
    for name in ("groundtruth.txt", "absence.label", "cover.label", "00000007.jpg"):
        assert (tmp_path / "a" / sequence_dir / name).read_bytes() == (tmp_path / "b" / sequence_dir / name).read_bytes()


def test_mot17_format_with_dataset_wide_identities(tmp_path):
    out = tmp_path / "mot"
    command = ["synth", "--out", str(out), "--format", "mot17", "--sequences", "2", "--frames", "12",
               "--seed", "1", "--height", "64", "--width", "80", "--distractors", "1"]
    assert main(command) == 0
    sequences = datasets.read_dataset("mot17", str(out), with_frames=False)
    assert [sorted(s.tracks) for s in sequences] == [[1, 2], [3, 4]]
    assert all(s.image_size == (64, 80) and len(s) == 12 for s in sequences)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sequences", "0", "--frames", "5"], "--sequences must be >= 1"),
        (["--sequences", "1", "--frames", "1"], "--frames must be >= 2"),
        (["--sequences", "1", "--frames", "5", "--height", "10"], "image_size must be at least 48x48"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, extra, message):
    code = main(["synth", "--out", str(tmp_path / "x"), "--format", "lasot", *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_out_that_holds_an_earlier_set_is_rejected(tmp_path, capsys):
    out = tmp_path / "set"
    args = ["--format", "lasot", "--sequences", "1", "--frames", "5", "--height", "48",
            "--width", "64"]
    assert main(["synth", "--out", str(out), *args]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["synth", "--out", str(out), *args, "--seed", "9"]) == 2
    assert f"--out {out} exists and is not empty" in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing mixed in


def test_out_that_is_a_file_is_rejected(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["synth", "--out", str(target), "--format", "lasot", "--sequences", "1", "--frames", "5"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_unknown_format_is_an_argparse_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--out", str(tmp_path), "--format", "vot", "--sequences", "1", "--frames", "5"])
    assert exit_info.value.code == 2
