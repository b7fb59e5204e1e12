"""Result files round-trip in each toolkit's format, and published files are readable."""

import os

import numpy as np
import pytest

from eval import result_files

BOXES = np.array([[10.5, 20.25, 30.0, 40.125], [11.0, 21.0, 29.5, 39.75], [np.nan] * 4])


def test_ope_round_trip_and_format(tmp_path):
    path = result_files.write_ope_result(tmp_path, "cat-1", BOXES)
    assert path.read_text().splitlines()[0] == "10.5000,20.2500,30.0000,40.1250"
    np.testing.assert_array_equal(result_files.read_ope_result(tmp_path, "cat-1"), BOXES)
    assert os.listdir(tmp_path) == ["cat-1.txt"]  # no temporary file left behind


def test_published_otb_results_with_tabs_and_other_spellings(tmp_path):
    (tmp_path / "Jogging.1.txt").write_text("1\t2\t3\t4\n5\t6\t7\t8\n")
    np.testing.assert_array_equal(result_files.read_ope_result(tmp_path, "Jogging-1", "otb"),
                                  [[1, 2, 3, 4], [5, 6, 7, 8]])
    with pytest.raises(FileNotFoundError, match="Jogging-2.txt"):
        result_files.read_ope_result(tmp_path, "Jogging-2", "otb")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    result_files.write_ope_result(tmp_path, "seq", BOXES[:2])
    before = (tmp_path / "seq.txt").read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        result_files.write_ope_result(tmp_path, "seq", np.zeros((5, 4)))
    assert (tmp_path / "seq.txt").read_text() == before
    assert os.listdir(tmp_path) == ["seq.txt"]


def test_got10k_round_trip_with_repetitions(tmp_path):
    result_files.write_got10k_result(tmp_path, "GOT-10k_Val_000001", BOXES[:2], [0.01, 0.02])
    result_files.write_got10k_result(tmp_path, "GOT-10k_Val_000001", BOXES[:2] + 1,
                                     repetition=2)
    folder = tmp_path / "GOT-10k_Val_000001"
    assert sorted(os.listdir(folder)) == ["GOT-10k_Val_000001_001.txt",
                                          "GOT-10k_Val_000001_002.txt",
                                          "GOT-10k_Val_000001_time.txt"]
    runs = result_files.read_got10k_result(tmp_path, "GOT-10k_Val_000001")
    np.testing.assert_array_equal(runs[0], BOXES[:2])
    np.testing.assert_array_equal(runs[1], BOXES[:2] + 1)


def test_votlt_files_follow_the_toolkit_layout(tmp_path):
    boxes = BOXES[:2]
    result_files.write_votlt_result(tmp_path, "car9", boxes, [1.0, 0.75])
    folder = tmp_path / "car9"
    assert (folder / "car9_001.txt").read_text() == "1\n11.0000,21.0000,29.5000,39.7500\n"
    assert (folder / "car9_001_confidence.value").read_text() == "\n0.750000\n"
    read_boxes, confidences = result_files.read_votlt_result(tmp_path, "car9")
    assert np.isnan(read_boxes[0]).all() and np.isnan(confidences[0])
    np.testing.assert_array_equal(read_boxes[1], boxes[1])
    assert confidences[1] == 0.75


def test_votlt_reads_toolkit_longterm_folder(tmp_path):
    folder = tmp_path / "longterm" / "car9"
    folder.mkdir(parents=True)
    (folder / "car9_001.txt").write_text("1\n1,2,3,4\n")
    (folder / "car9_001_confidence.value").write_text("\n0.5\n")
    boxes, confidences = result_files.read_votlt_result(tmp_path, "car9")
    np.testing.assert_array_equal(boxes[1], [1, 2, 3, 4])
    (folder / "car9_001_confidence.value").write_text("\nhigh\n")
    with pytest.raises(ValueError, match=r"confidence.value:2: 'high'"):
        result_files.read_votlt_result(tmp_path, "car9")


def test_oxuva_csv_round_trip_with_true_false(tmp_path):
    path = result_files.write_oxuva_predictions(
        tmp_path, "vid", "obj", [30, 60], [True, False], [0.9, 0.1],
        [[0.1, 0.3, 0.2, 0.4], [0.5, 0.6, 0.5, 0.6]])
    assert path.name == "vid_obj.csv"
    assert path.read_text().splitlines()[0] == \
        "vid,obj,30,true,0.900000,0.100000,0.300000,0.200000,0.400000"
    predictions = result_files.read_oxuva_predictions(path)
    assert predictions[30][0] is True and predictions[60][0] is False
    np.testing.assert_allclose(predictions[60][2], [0.5, 0.6, 0.5, 0.6])
    path.write_text("vid,obj,30,yes,0.9,0.1,0.3,0.2,0.4\n")
    with pytest.raises(ValueError, match=r"vid_obj.csv:1: presence 'yes'"):
        result_files.read_oxuva_predictions(path)


def test_ope_companions_confidence_and_time_beside_the_boxes(tmp_path):
    result_files.write_ope_result(tmp_path, "cat-1", BOXES[:2], [1.0, 0.25], [0.5, 0.01])
    assert sorted(os.listdir(tmp_path)) == ["cat-1.txt", "cat-1_confidence.value",
                                            "cat-1_time.txt"]
    assert (tmp_path / "cat-1_confidence.value").read_text() == "1.000000\n0.250000\n"
    np.testing.assert_array_equal(result_files.read_ope_confidences(tmp_path, "cat-1"),
                                  [1.0, 0.25])
    assert (tmp_path / "cat-1_time.txt").read_text() == "0.500000\n0.010000\n"
    with pytest.raises(ValueError, match="3 confidences for 2 boxes"):
        result_files.write_ope_result(tmp_path, "dog-1", BOXES[:2], [1, 1, 1])
    # The companions do not make a folder unreadable as results: the box file alone scores.
    np.testing.assert_array_equal(result_files.read_ope_result(tmp_path, "cat-1"), BOXES[:2])


def test_partial_result_streams_rows_drops_a_torn_line_and_finishes_atomically(tmp_path):
    partial = result_files.PartialOpeResult(tmp_path, "cat-1")
    assert not partial.exists() and partial.rows().shape == (0, 6)
    partial.open()
    partial.append([1, 2, 3, 4], 1.0, 0.5)
    partial.append([1.5, 2.5, 3.5, 4.5], 0.25, 0.01)
    # Flushed as written: another reader sees both rows before close.
    assert (tmp_path / "cat-1.partial").read_text().count("\n") == 2
    partial.close()
    with open(tmp_path / "cat-1.partial", "a") as f:
        f.write("9,9,9")  # a row torn by SIGKILL
    np.testing.assert_array_equal(partial.rows()[:, :5], [[1, 2, 3, 4, 1], [1.5, 2.5, 3.5, 4.5,
                                                                              0.25]])
    partial.open(keep=1)  # resume after row 1: the rest and the torn line are gone
    partial.append([2, 2, 2, 2], 0.5, 0.02)
    path = partial.finish()
    assert path == tmp_path / "cat-1.txt" and not partial.exists()
    assert path.read_text() == "1.0000,2.0000,3.0000,4.0000\n2.0000,2.0000,2.0000,2.0000\n"
    np.testing.assert_array_equal(result_files.read_ope_confidences(tmp_path, "cat-1"), [1, 0.5])
    (tmp_path / "bad.partial").write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"bad.partial:1: expected 6 numbers"):
        result_files.PartialOpeResult(tmp_path, "bad").rows()
