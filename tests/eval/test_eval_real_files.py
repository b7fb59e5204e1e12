"""Issue 16: real dataset and result files are read and scored as the official toolkits do.

* OTB frame ranges (OTB toolkit configSeqs.m startFrame/endFrame/initOmit, as transcribed in
  visionml/pytracking pytracking/evaluation/otbdataset.py): Tiger1 has 354 annotation rows and
  is scored on images 6-354; a result with one row per image (354) or per scored frame (349)
  scores the same; any other length is refused.
* Result files named in another layout are refused with the closest names present; OTB's
  spellings of two-target names are accepted on OTB only.
* A LaSOT root holding only part of the test split says how many it found.
"""

import json

import numpy as np
import pytest

from dmtrack_apps import cli
from data_pipelines.datasets import otb
from data_pipelines.datasets.lasot_test_split import LASOT_TEST_SEQUENCES
from eval import result_files, scoring

PERFECT_SUCCESS = 20 / 21  # IoU 1 > t for every t in 0:0.05:1 except 1


def _moving_boxes(n):
    """Integer boxes that move 7 px per frame: a result one frame out of step scores badly."""
    return np.array([[10 + 7 * i, 20 + 3 * i, 30, 40] for i in range(n)], float)


@pytest.fixture
def tiger1_root(tmp_path, bench_files):
    root = tmp_path / "otb"
    bench_files.write_rows(root / "Tiger1" / "groundtruth_rect.txt",
                           _moving_boxes(354).astype(int).tolist())
    return root


def test_otb_toolkit_ranges_are_embedded():
    assert len(otb.OTB_FRAME_RANGES) == 98  # 100 targets; Jogging, Skating2 hold two each
    assert otb.OTB_FRAME_RANGES["Tiger1"] == (1, 354) and otb.OTB_INIT_OMIT == {"Tiger1": 5}
    assert otb.OTB_START_FRAME == {"David": 300, "BlurCar1": 247, "BlurCar3": 3,
                                   "BlurCar4": 18}
    for name, end in (("David", 770), ("Football1", 74), ("Freeman3", 460),
                      ("Freeman4", 283), ("Diving", 215), ("BlurCar1", 988),
                      ("BlurCar3", 359), ("BlurCar4", 397), ("Board", 698)):
        assert otb.OTB_FRAME_RANGES[name][1] == end


def test_tiger1_reader_scores_images_6_to_354(tiger1_root):
    (tiger1,) = scoring.read_sequences("otb", tiger1_root)
    assert len(tiger1.ground_truth) == 349
    assert tiger1.extra["start_frame"] == 6 and tiger1.extra["end_frame"] == 354
    np.testing.assert_array_equal(tiger1.ground_truth[0], _moving_boxes(354)[5])


@pytest.mark.parametrize("rows", [354, 349])
def test_tiger1_perfect_result_in_both_lengths_scores_perfect(tiger1_root, tmp_path, rows):
    boxes = _moving_boxes(354)[354 - rows:]  # per image from 1, or per scored frame from 6
    result_files.write_ope_result(tmp_path / "r", "Tiger1", boxes)
    scores = scoring.score_results("otb", tiger1_root, tmp_path / "r")["scores"]
    assert scores["success"] == pytest.approx(PERFECT_SUCCESS, abs=1e-12)
    assert scores["precision"] == 1.0 and scores["norm_precision"] == 1.0


@pytest.mark.parametrize("rows", [350, 353, 348])
def test_tiger1_misaligned_length_is_refused_naming_both(tiger1_root, tmp_path, rows):
    result_files.write_ope_result(tmp_path / "r", "Tiger1", _moving_boxes(rows))
    with pytest.raises(ValueError, match=rf"Tiger1: the result has {rows} .*349") as info:
        scoring.score_results("otb", tiger1_root, tmp_path / "r")
    assert "354" in str(info.value) and "images 6-354" in str(info.value)


def test_david_per_image_result_is_aligned(tmp_path, bench_files):
    # David: startFrame 300, endFrame 770 -> 471 annotation rows; a result for images 1-770
    root = tmp_path / "otb"
    bench_files.write_rows(root / "David" / "groundtruth_rect.txt",
                           _moving_boxes(471).astype(int).tolist())
    per_image = np.concatenate([np.zeros((299, 4)), _moving_boxes(471)])
    result_files.write_ope_result(tmp_path / "r", "David", per_image)
    scores = scoring.score_results("otb", root, tmp_path / "r")["scores"]
    assert scores["success"] == pytest.approx(PERFECT_SUCCESS, abs=1e-12)


def test_rows_past_the_toolkit_end_frame_are_dropped(tmp_path, bench_files):
    # Football1 is scored on images 1-74; longer annotation/result files are cut there
    root = tmp_path / "otb"
    bench_files.write_rows(root / "Football1" / "groundtruth_rect.txt",
                           _moving_boxes(80).astype(int).tolist())
    (seq,) = scoring.read_sequences("otb", root)
    assert len(seq.ground_truth) == 74 and seq.extra["end_frame"] == 74
    result_files.write_ope_result(tmp_path / "r", "Football1", _moving_boxes(80))
    scores = scoring.score_results("otb", root, tmp_path / "r")["scores"]
    assert scores["precision"] == 1.0


def test_align_keeps_lasot_truncation_rule():
    # LaSOT toolkit: results(1:size(rect_anno,1),:) when the lengths differ
    boxes = _moving_boxes(10)
    np.testing.assert_array_equal(result_files.align_ope_result(boxes, 8), boxes[:8])
    with pytest.raises(ValueError, match="7 boxes but the ground truth has 8"):
        result_files.align_ope_result(boxes[:7], 8, name="x")


# --- result file names -------------------------------------------------------------------

@pytest.mark.parametrize("found, hint", [
    ("airplane-1_001.txt", "VOT/GOT-10k-style"),
    ("ATOM_airplane-1.txt", "tracker-name prefix"),
    ("airplane-1/airplane-1.txt", "one folder per sequence"),
    ("airplane_1.txt", "accepted on OTB only"),
])
def test_other_namings_are_refused_with_what_was_found(tmp_path, found, hint):
    path = tmp_path / found
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("1,2,3,4\n")
    with pytest.raises(FileNotFoundError) as info:
        result_files.read_ope_result(tmp_path, "airplane-1", "lasot")
    message = str(info.value)
    assert "no result file for sequence airplane-1" in message
    assert "<results-dir>/<sequence>.txt" in message  # the expected layout
    assert found in message and hint in message


def test_underscore_spelling_stands_in_on_otb_only(tmp_path):
    (tmp_path / "Jogging_1.txt").write_text("1,2,3,4\n")
    assert result_files.read_ope_result(tmp_path, "Jogging-1", "otb").shape == (1, 4)
    with pytest.raises(FileNotFoundError):
        result_files.read_ope_result(tmp_path, "Jogging-1", "lasot")
    with pytest.raises(FileNotFoundError):
        result_files.read_ope_result(tmp_path, "Jogging-1")


def test_lasot_scoring_does_not_take_airplane_1_for_airplane_minus_1(tmp_path, bench_files):
    root = bench_files.make_lasot(tmp_path / "lasot", {"airplane-1": {"gt": [[1, 1, 5, 5]] * 2}})
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "airplane_1.txt").write_text("1,1,5,5\n1,1,5,5\n")
    with pytest.raises(FileNotFoundError, match="airplane_1.txt"):
        scoring.score_results("lasot", root, tmp_path / "r")


# --- a LaSOT root with part of the test split ----------------------------------------------

def test_partial_lasot_root_says_how_many_and_names_split_all(tmp_path, bench_files, capsys):
    present = list(LASOT_TEST_SEQUENCES[:3])
    root = bench_files.make_lasot(tmp_path / "lasot", {n: {"gt": [[1, 1, 5, 5]] * 2}
                                                       for n in present})
    (root / "testing_set.txt").unlink()  # the official 280-sequence list applies
    for n in present:
        result_files.write_ope_result(tmp_path / "r", n, np.array([[1, 1, 5, 5]] * 2))
    args = ["eval", "--benchmark", "lasot", "--root", str(root), "--results-dir",
            str(tmp_path / "r")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "3 of 280" in err and "--split all" in err
    assert ", ".join(LASOT_TEST_SEQUENCES[3:8]) in err
    assert cli.main(args + ["--split", "all", "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["precision"] == 1.0
