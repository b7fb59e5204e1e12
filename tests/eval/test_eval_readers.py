"""Benchmark readers on tiny folders in the real layouts; annotation-only reading."""

import numpy as np
import pytest

from eval import benchmarks, oxuva_data
from eval.lasot_split import LASOT_TEST_SEQUENCES

BOX = [10, 10, 20, 20]


def test_lasot_test_list_has_280_names_4_per_class():
    assert len(LASOT_TEST_SEQUENCES) == len(set(LASOT_TEST_SEQUENCES)) == 280
    classes = {}
    for name in LASOT_TEST_SEQUENCES:
        classes.setdefault(name.rsplit("-", 1)[0], []).append(name)
    assert len(classes) == 70 and all(len(v) == 4 for v in classes.values())
    assert {"airplane-1", "volleyball-19", "rubicCube-14", "yoyo-7"} <= set(LASOT_TEST_SEQUENCES)


def test_lasot_reads_flags_without_images(tmp_path, bench_files):
    root = bench_files.make_lasot(tmp_path / "lasot", {
        "cat-1": {"gt": [BOX] * 3, "occlusion": [0, 0, 1], "out_of_view": [0, 1, 0]},
        "dog-3": {"gt": [BOX] * 2}})
    sequences = benchmarks.read_lasot(root)  # no img/ folders exist: never looked at
    assert [s.name for s in sequences] == ["cat-1", "dog-3"]
    np.testing.assert_array_equal(sequences[0].present, [True, False, False])
    np.testing.assert_array_equal(sequences[0].ground_truth, [BOX] * 3)
    with pytest.raises(FileNotFoundError, match="cat-1/img"):
        benchmarks.read_lasot(root, with_frames=True)


def test_lasot_without_list_uses_official_names(tmp_path):
    (tmp_path / "lasot").mkdir()
    with pytest.raises(FileNotFoundError, match="airplane-1"):
        benchmarks.read_lasot(tmp_path / "lasot")


def test_lasot_flag_count_mismatch_is_reported(tmp_path, bench_files):
    root = bench_files.make_lasot(tmp_path / "l", {"cat-1": {"gt": [BOX] * 3, "occlusion": [0, 0]}})
    with pytest.raises(ValueError, match="full_occlusion.txt: 2 labels for 3 frames"):
        benchmarks.read_lasot(root)


def test_bad_number_names_file_and_line(tmp_path, bench_files):
    root = bench_files.make_lasot(tmp_path / "l", {"cat-1": {"gt": [BOX, [1, "abc", 3, 4]]}})
    with pytest.raises(ValueError, match=r"groundtruth.txt:2: 'abc' is not a number"):
        benchmarks.read_lasot(root)


def test_otb_quirks_late_start_two_targets_and_delimiters(tmp_path, bench_files):
    root = tmp_path / "otb"
    bench_files.write_rows(root / "David" / "groundtruth_rect.txt", [BOX] * 3, delimiter="\t")
    bench_files.write_rows(root / "Jogging" / "groundtruth_rect.1.txt", [BOX] * 2)
    bench_files.write_rows(root / "Jogging" / "groundtruth_rect.2.txt", [[1, 2, 3, 4]] * 2, delimiter=" ")
    bench_files.write_rows(root / "Tiger1" / "groundtruth_rect.txt", [[i, 0, 5, 5] for i in range(1, 9)])
    for frame in [1, 299, 300, 301, 302, 303]:
        (root / "David" / "img").mkdir(parents=True, exist_ok=True)
        (root / "David" / "img" / f"{frame:04d}.jpg").write_bytes(b"")
    for frame in range(1, 9):
        (root / "Tiger1" / "img").mkdir(parents=True, exist_ok=True)
        (root / "Tiger1" / "img" / f"{frame:04d}.jpg").write_bytes(b"")
    sequences = {s.name: s for s in benchmarks.read_otb(root)}
    assert sorted(sequences) == ["David", "Jogging-1", "Jogging-2", "Tiger1"]
    np.testing.assert_array_equal(sequences["Jogging-2"].ground_truth, [[1, 2, 3, 4]] * 2)
    # Tiger1: the toolkit omits the first 5 annotated frames -> starts at image 6
    np.testing.assert_array_equal(sequences["Tiger1"].ground_truth[:, 0], [6, 7, 8])
    framed = {s.name: s for s in benchmarks.read_otb(root, with_frames=True,
                                                     names=["David", "Tiger1"])}
    assert [p.name for p in framed["David"].frame_paths] == ["0300.jpg", "0301.jpg", "0302.jpg"]
    assert [p.name for p in framed["Tiger1"].frame_paths] == ["0006.jpg", "0007.jpg", "0008.jpg"]


def test_got10k_val_reads_cover_absence_and_resolution(tmp_path, bench_files):
    root = tmp_path / "got10k"
    (root / "val").mkdir(parents=True)
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    seq = root / "val" / "GOT-10k_Val_000001"
    bench_files.write_rows(seq / "groundtruth.txt", [BOX] * 3)
    (seq / "absence.label").write_text("0\n1\n0\n")
    (seq / "cover.label").write_text("8\n0\n3\n")
    (seq / "meta_info.ini").write_text(
        "[METAINFO]\nurl: https://youtu.be/x?t=1%20s\nresolution: (640, 480)\n")
    (sequence,) = benchmarks.read_got10k(root)
    assert sequence.image_wh == (640, 480)
    np.testing.assert_array_equal(sequence.cover, [8, 0, 3])
    np.testing.assert_array_equal(sequence.present, [True, False, True])


def test_votlt_nan_rows_are_absent(tmp_path):
    root = tmp_path / "vot"
    root.mkdir()
    (root / "list.txt").write_text("car9\n")
    (root / "car9").mkdir()
    (root / "car9" / "groundtruth.txt").write_text("1,2,3,4\nnan,nan,nan,nan\n5,6,7,8\n")
    (root / "car9" / "sequence").write_text("channels.color=color/%08d.jpg\nwidth=64\nheight=48\n")
    (sequence,) = benchmarks.read_votlt(root)
    np.testing.assert_array_equal(sequence.present, [True, False, True])
    assert sequence.image_wh == (64, 48)


def test_tlp_keeps_the_box_columns(tmp_path, bench_files):
    bench_files.write_rows(tmp_path / "tlp" / "Alladin" / "groundtruth_rect.txt",
               [[1, 5, 6, 7, 8, 0], [2, 5, 6, 7, 8, 1]])
    (sequence,) = benchmarks.read_tlp(tmp_path / "tlp")
    np.testing.assert_array_equal(sequence.ground_truth, [[5, 6, 7, 8]] * 2)
    np.testing.assert_array_equal(sequence.extra["is_lost"], [False, True])


def test_oxuva_tasks_and_annotations(tmp_path, bench_files):
    bench_files.write_rows(tmp_path / "tasks" / "dev.csv", [["vid", "obj", 0, 90, 0.1, 0.3, 0.2, 0.4]])
    bench_files.write_rows(tmp_path / "annotations" / "dev.csv", [
        ["vid", "obj", 3, "cat", "false", "false", 0, "present", 0.1, 0.3, 0.2, 0.4],
        ["vid", "obj", 3, "cat", "false", "false", 30, "absent", -1, -1, -1, -1]])
    (track,) = oxuva_data.read_tasks(tmp_path, "dev")
    assert (track.video, track.object, track.init_frame, track.last_frame) == ("vid", "obj", 0, 90)
    labels = oxuva_data.read_annotations(tmp_path, "dev")[("vid", "obj")]
    assert labels[0][0] is True and labels[30][0] is False
    bench_files.write_rows(tmp_path / "annotations" / "dev.csv", [["vid", "obj", 0, "maybe"]])
    with pytest.raises(ValueError, match="dev.csv:1: expected 12"):
        oxuva_data.read_annotations(tmp_path, "dev")
