"""Dataset readers (`data_pipelines.datasets`): synthetic datasets written in each real layout
read back exactly; the benchmark-only layouts (VOT-LT, TLP, OxUvA), the LaSOT test list, and
the errors (file:line and value) on bad files. The LaSOT, GOT-10k, TrackingNet and OTB readers
serving training and evaluation at once: test_datasets_both_uses.py."""

from __future__ import annotations

import json
import logging
import os
import shutil

import numpy as np
import pytest

from data_pipelines import datasets, synthetic, writers
from data_pipelines.datasets.lasot_test_split import LASOT_TEST_SEQUENCES
from data_pipelines.sequence import Sequence
from dmtrack_common import frames

SIZE = (64, 80)
FRAMES = 24
SEED = 3


@pytest.fixture(scope="module")
def videos():
    return list(synthetic.iter_dataset(2, FRAMES, SEED, image_size=SIZE, num_distractors=2))


@pytest.fixture(scope="module")
def written(tmp_path_factory, videos):
    """Each layout once; the LaSOT/GOT-10k variants use `nan` rows and tab delimiters."""
    root = tmp_path_factory.mktemp("datasets")
    writers.write_lasot(str(root / "lasot"), videos)
    writers.write_lasot(str(root / "lasot_nan_tab"), videos, absent_box="nan", delimiter="\t")
    writers.write_got10k(str(root / "got10k"), videos, absent_box="nan")
    writers.write_trackingnet(str(root / "trackingnet"), videos, delimiter="\t")
    writers.write_mot17(str(root / "mot17"), videos)
    writers.write_coco(str(root / "coco"), videos)
    return root


def _assert_target_matches(sequence: Sequence, video: synthetic.SyntheticVideo) -> None:
    assert len(sequence) == FRAMES
    np.testing.assert_array_equal(sequence.absent, video.target_absent)
    assert sequence.absent.sum() >= 6  # the occlusion and out-of-view periods are in there
    # Synthetic boxes are integers, written without rounding: exact equality, NaN included.
    np.testing.assert_array_equal(sequence.boxes, video.boxes[:, 0])
    assert sequence.boxes.dtype == np.float64


@pytest.mark.parametrize("layout", ["lasot", "lasot_nan_tab"])
def test_lasot_round_trip(written, videos, layout):
    sequences = datasets.read_dataset("lasot", str(written / layout))
    by_name = {s.name: s for s in sequences}
    assert len(sequences) == 2
    counts: dict[str, int] = {}
    for video in videos:
        counts[video.object_class] = counts.get(video.object_class, 0) + 1
        sequence = by_name[f"{video.object_class}-{counts[video.object_class]}"]
        assert sequence.dataset == "lasot" and sequence.object_class == video.object_class
        _assert_target_matches(sequence, video)
        image = frames.load_frame(sequence.frame_paths[5])
        assert image.shape == (*SIZE, 3) and image.dtype == np.uint8
        # JPEG q95 4:4:4: small mean error against the rendered RGB frame, and far smaller than
        # with the channels swapped (catches an RGB/BGR mix-up).
        error = np.abs(image.astype(np.float64) - video.frames[5]).mean()
        swapped = np.abs(image[..., ::-1].astype(np.float64) - video.frames[5]).mean()
        assert error < 4.5 and error < 0.4 * swapped


def test_got10k_round_trip_with_cover_labels(written, videos):
    sequences = datasets.read_dataset("got10k", str(written / "got10k"), split="train")
    assert [s.name for s in sequences] == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    for index, (sequence, video) in enumerate(zip(sequences, videos), start=1):
        _assert_target_matches(sequence, video)
        expected_cover = np.clip(np.ceil(video.visibility[:, 0] * 8), 1, 8)
        expected_cover[video.target_absent] = 0
        np.testing.assert_array_equal(sequence.cover, expected_cover)
        assert sequence.object_class == video.object_class
        assert str(sequence.frame_paths[0]).endswith(os.path.join(f"GOT-10k_Train_{index:06d}", "00000001.jpg"))


def test_trackingnet_round_trip_tab_delimited(written, videos):
    sequences = datasets.read_dataset("trackingnet", str(written / "trackingnet"))
    assert [s.name for s in sequences] == ["synth_00000", "synth_00001"]
    for sequence, video in zip(sequences, videos):
        _assert_target_matches(sequence, video)
        assert os.path.basename(sequence.frame_paths[0]) == "0.jpg"
        assert os.path.isfile(sequence.frame_paths[-1])


def test_mot17_round_trip_identities_and_ignored_rows(written, videos):
    sequences = datasets.read_dataset("mot17", str(written / "mot17"))
    assert [s.name for s in sequences] == ["SYNTH-01", "SYNTH-02"]
    all_ids = []
    for sequence, video in zip(sequences, videos):
        assert sequence.ids_are_identities and sequence.image_size == SIZE
        assert sorted(sequence.tracks) == video.ids.tolist()  # occluders (class 9, flag 0) dropped
        for k, identity in enumerate(video.ids):
            expected = np.where(video.visible[:, k, None], video.full_boxes[:, k], np.nan)
            np.testing.assert_array_equal(sequence.tracks[int(identity)], expected)
        all_ids.extend(sequence.tracks)
        assert os.path.basename(sequence.frame_paths[0]) == "000001.jpg"
    assert len(set(all_ids)) == len(all_ids) == 6


def test_coco_round_trip_and_logged_skips(written, videos, tmp_path, caplog):
    root = tmp_path / "coco"
    shutil.copytree(written / "coco", root)
    path = root / "annotations" / "instances_train2017.json"
    document = json.loads(path.read_text())
    original_count = len(document["images"])
    document["annotations"] += [
        {"id": 9001, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "iscrowd": 1},
        {"id": 9002, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 5], "iscrowd": 0},
    ]
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.INFO, logger="data_pipelines.datasets.coco"):
        sequences = datasets.read_dataset("coco", str(root))
    assert "skipped 1 crowd and 1 degenerate boxes" in caplog.text
    frames_with_objects = [(v, t) for v in videos for t in range(FRAMES) if v.visible[t].any()]
    assert len(sequences) == len(frames_with_objects) <= original_count
    for sequence, (video, t) in zip(sequences, frames_with_objects):
        assert not sequence.ids_are_identities and len(sequence) == 1
        got = np.concatenate(list(sequence.tracks.values()))
        np.testing.assert_array_equal(got, video.boxes[t][video.visible[t]])
        assert set(sequence.track_classes.values()) == {video.object_class}


def test_annotations_only_never_needs_images(written, tmp_path):
    root = tmp_path / "lasot"
    shutil.copytree(written / "lasot", root)
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".jpg"):
                os.remove(os.path.join(directory, name))
    sequences = datasets.read_dataset("lasot", str(root), with_frames=False)
    assert len(sequences) == 2 and all(len(s) == FRAMES for s in sequences)
    with pytest.raises(FileNotFoundError, match=r"24 of 24 frames missing, first .*00000001\.jpg"):
        datasets.read_dataset("lasot", str(root))
    # No img/ folder at all: the error names the sequence's frame folder.
    shutil.rmtree(sequences[0].frame_paths[0].parent)
    with pytest.raises(FileNotFoundError, match=rf"{sequences[0].name}/img"):
        datasets.read_dataset("lasot", str(root), with_frames=True)


def _lasot_copy(written, tmp_path):
    root = tmp_path / "lasot"
    shutil.copytree(written / "lasot", root)
    sequence_dir = sorted(p for p in root.glob("*/*") if p.is_dir())[0]
    return root, sequence_dir


@pytest.mark.parametrize(
    "replacement, message",
    [
        ("1,2,abc,4", r"groundtruth\.txt:3: 'abc' is not a number"),
        ("1,2,3", r"groundtruth\.txt:3: expected 4 values, got 3"),
        # Issue 16 reversed the negative-size case: `1,2,-3,4` now reads (an invalid row, see
        # test_negative_sizes_are_unusable_for_training_and_score_as_invalid_for_evaluation);
        # a blank or whitespace-only line in the middle is the error instead.
        ("", r"groundtruth\.txt:3: blank line"),
        (" \t ", r"groundtruth\.txt:3: blank line"),
        ("1,2,inf,4", r"groundtruth\.txt:3: infinite"),
    ],
)
def test_malformed_box_line_names_file_and_line(written, tmp_path, replacement, message):
    root, sequence_dir = _lasot_copy(written, tmp_path)
    path = sequence_dir / "groundtruth.txt"
    lines = path.read_text().splitlines()
    lines[2] = replacement
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        datasets.read_dataset("lasot", str(root))


def test_flag_count_mismatch_and_bad_label_are_errors(written, tmp_path):
    root, sequence_dir = _lasot_copy(written, tmp_path)
    path = sequence_dir / "out_of_view.txt"
    path.write_text(",".join(["0"] * (FRAMES - 1)) + "\n")
    with pytest.raises(ValueError, match=r"out_of_view\.txt: 23 labels for 24 frames"):
        datasets.read_dataset("lasot", str(root))
    path.write_text(",".join(["0"] * (FRAMES - 1) + ["2"]) + "\n")
    with pytest.raises(ValueError, match=r"out_of_view\.txt:1: label 2 outside 0\.\.1"):
        datasets.read_dataset("lasot", str(root))


def test_mot_gt_frame_out_of_range_names_line(written, tmp_path):
    root = tmp_path / "mot17"
    shutil.copytree(written / "mot17", root)
    path = root / "train" / "SYNTH-01" / "gt" / "gt.txt"
    lines = path.read_text().splitlines()
    lines[1] = f"{FRAMES + 5},1,1,1,5,5,1,1,1.0"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"gt\.txt:2: frame {FRAMES + 5} outside 1\.\.{FRAMES}"):
        datasets.read_dataset("mot17", str(root))


def test_coco_invalid_json_names_file_and_line(written, tmp_path):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val2017.json").write_text('{"images": [\n  {"id": 1,\n  oops}]}')
    with pytest.raises(ValueError, match=r"instances_val2017\.json:3: invalid JSON"):
        datasets.read_dataset("coco", str(root), with_frames=False)


def test_empty_or_missing_dataset_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no lasot sequences found"):
        datasets.read_dataset("lasot", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="dataset root not found"):
        datasets.read_dataset("got10k", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="unknown dataset 'vot'"):
        datasets.read_dataset("vot", str(tmp_path))


def test_load_frame_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        frames.load_frame(tmp_path / "missing.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    with pytest.raises(ValueError, match="broken.jpg"):
        frames.load_frame(broken)


def test_sequence_rejects_misaligned_annotations():
    with pytest.raises(ValueError, match="3 frames but 2 boxes"):
        Sequence("s", "synthetic", ["a", "b", "c"], np.zeros((2, 4)), np.ones(3, bool))
    sequence = Sequence(
        "s", "synthetic", ["a", "b", "c"],
        np.array([[0, 0, 5, 5], [np.nan] * 4, [1, 1, 0, 3]]), np.array([True, True, True]),
    )
    np.testing.assert_array_equal(sequence.valid, [True, False, False])
    # The training views derive from the raw rows: NaN and zero-size rows are absent.
    np.testing.assert_array_equal(sequence.absent, [False, True, True])
    np.testing.assert_array_equal(sequence.boxes, [[0, 0, 5, 5], [np.nan] * 4, [np.nan] * 4])
    np.testing.assert_array_equal(sequence.ground_truth[2], [1, 1, 0, 3])  # kept as read


def test_got10k_test_split_has_only_the_first_box(tmp_path):
    """GOT-10k test sequences ship one box; later frames are unknown (NaN), not absent."""
    sequence_dir = tmp_path / "test" / "GOT-10k_Test_000001"
    sequence_dir.mkdir(parents=True)
    (tmp_path / "test" / "list.txt").write_text("GOT-10k_Test_000001\n")
    (sequence_dir / "groundtruth.txt").write_text("10.5,20,30,40\n")
    for i in range(1, 6):
        writers.write_jpeg(str(sequence_dir / f"{i:08d}.jpg"), np.zeros((48, 48, 3), np.uint8))
    (sequence,) = datasets.read_dataset("got10k", str(tmp_path), split="test")
    assert len(sequence) == 5
    np.testing.assert_array_equal(sequence.boxes[0], [10.5, 20, 30, 40])
    assert np.isnan(sequence.boxes[1:]).all() and not sequence.absent.any()
    np.testing.assert_array_equal(sequence.valid, [True, False, False, False, False])


def test_lasot_split_file_selects_sequences(written, tmp_path):
    names = sorted(s.name for s in datasets.read_dataset("lasot", str(written / "lasot"), with_frames=False))
    split_file = tmp_path / "testing_set.txt"
    split_file.write_text(names[1] + "\n")
    (sequence,) = datasets.read_dataset("lasot", str(written / "lasot"), split=str(split_file))
    assert sequence.name == names[1]


# ----------------------------------------------------------------------------- benchmark layouts


BOX = [10, 10, 20, 20]


def write_rows(path, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(delimiter.join(str(v) for v in row) + "\n" for row in rows))


def test_lasot_test_list_has_280_names_4_per_class():
    assert len(LASOT_TEST_SEQUENCES) == len(set(LASOT_TEST_SEQUENCES)) == 280
    classes = {}
    for name in LASOT_TEST_SEQUENCES:
        classes.setdefault(name.rsplit("-", 1)[0], []).append(name)
    assert len(classes) == 70 and all(len(v) == 4 for v in classes.values())
    assert {"airplane-1", "volleyball-19", "rubicCube-14", "yoyo-7"} <= set(LASOT_TEST_SEQUENCES)


def test_lasot_test_split_without_list_uses_official_names(tmp_path):
    (tmp_path / "lasot").mkdir()
    with pytest.raises(FileNotFoundError, match="airplane-1"):
        datasets.read_dataset("lasot", tmp_path / "lasot", "test", with_frames=False)


def test_votlt_nan_rows_are_absent(tmp_path):
    root = tmp_path / "vot"
    root.mkdir()
    (root / "list.txt").write_text("car9\n")
    (root / "car9").mkdir()
    (root / "car9" / "groundtruth.txt").write_text("1,2,3,4\nnan,nan,nan,nan\n5,6,7,8\n")
    (root / "car9" / "sequence").write_text("channels.color=color/%08d.jpg\nwidth=64\nheight=48\n")
    (sequence,) = datasets.read_dataset("votlt", root, with_frames=False)
    np.testing.assert_array_equal(sequence.present, [True, False, True])
    assert sequence.image_size == (48, 64)
    assert [p.name for p in sequence.frame_paths] == ["00000001.jpg", "00000002.jpg", "00000003.jpg"]


def test_tlp_keeps_the_box_columns(tmp_path):
    write_rows(tmp_path / "tlp" / "Alladin" / "groundtruth_rect.txt",
               [[1, 5, 6, 7, 8, 0], [2, 5, 6, 7, 8, 1]])
    (sequence,) = datasets.read_dataset("tlp", tmp_path / "tlp", with_frames=False)
    np.testing.assert_array_equal(sequence.ground_truth, [[5, 6, 7, 8]] * 2)
    np.testing.assert_array_equal(sequence.extra["is_lost"], [False, True])


def test_oxuva_tasks_and_annotations(tmp_path):
    write_rows(tmp_path / "tasks" / "dev.csv", [["vid", "obj", 0, 90, 0.1, 0.3, 0.2, 0.4]])
    write_rows(tmp_path / "annotations" / "dev.csv", [
        ["vid", "obj", 3, "cat", "false", "false", 0, "present", 0.1, 0.3, 0.2, 0.4],
        ["vid", "obj", 3, "cat", "false", "false", 30, "absent", -1, -1, -1, -1]])
    (task,) = datasets.read_dataset("oxuva", tmp_path, "dev", with_frames=False)
    assert task.name == "vid_obj" and len(task) == 91
    assert (task.extra["video"], task.extra["object"], task.extra["init_frame"],
            task.extra["last_frame"]) == ("vid", "obj", 0, 90)
    np.testing.assert_array_equal(task.extra["init_box_xxyy"], [0.1, 0.3, 0.2, 0.4])
    labels = datasets.oxuva.read_annotations(tmp_path, "dev")[("vid", "obj")]
    assert labels[0][0] is True and labels[30][0] is False
    write_rows(tmp_path / "annotations" / "dev.csv", [["vid", "obj", 0, "maybe"]])
    with pytest.raises(ValueError, match="dev.csv:1: expected 12"):
        datasets.oxuva.read_annotations(tmp_path, "dev")


def test_names_select_and_order_sequences(written):
    root = written / "lasot"
    all_names = [s.name for s in datasets.read_dataset("lasot", root, with_frames=False)]
    picked = datasets.read_dataset("lasot", root, with_frames=False, names=all_names[::-1])
    assert [s.name for s in picked] == all_names[::-1]
    with pytest.raises(ValueError, match=r"unknown LaSOT sequence name\(s\) \['nope-1'\]"):
        datasets.read_dataset("lasot", root, with_frames=False, names=["nope-1"])


def test_negative_sizes_are_unusable_for_training_and_score_as_invalid_for_evaluation(tmp_path):
    """Reversed by issue 16 (this test used to assert that the training read raises "negative
    box size"): one read for both uses keeps the row, training sees the frame as unusable and
    the LaSOT toolkit scores it as invalid ground truth."""
    from eval import ope_metrics, scoring

    root = tmp_path / "lasot"
    write_rows(root / "cat" / "cat-1" / "groundtruth.txt", [BOX, [1, 2, -3, 4], BOX])
    for flags in ("full_occlusion.txt", "out_of_view.txt"):
        (root / "cat" / "cat-1" / flags).write_text("0,0,0\n")
    (root / "testing_set.txt").write_text("cat-1\n")
    (training,) = datasets.read_dataset("lasot", root, with_frames=False)
    np.testing.assert_array_equal(training.valid, [True, False, True])
    (sequence,) = scoring.read_sequences("lasot", root)
    np.testing.assert_array_equal(sequence.ground_truth[1], [1, 2, -3, 4])
    np.testing.assert_array_equal(sequence.present, [True] * 3)
    np.testing.assert_array_equal(sequence.valid, [True, False, True])  # unusable for training
    errors = ope_metrics.lasot_errors(np.array([BOX] * 3, float), sequence.ground_truth,
                                      sequence.present)
    np.testing.assert_array_equal(errors.overlap, [1, -1, 1])  # invalid gt: a failure ...
    np.testing.assert_array_equal(errors.centre_error, [0, -1, 0])  # ... and a precision hit


def test_a_name_outside_the_official_split_names_split_all(written):
    root = written / "lasot"
    name = datasets.read_dataset("lasot", root, with_frames=False)[0].name
    with pytest.raises(ValueError, match=r"unknown LaSOT sequence name\(s\) \['"
                       + name + r"'\] in split 'test'; .* use split 'all'"):
        datasets.read_dataset("lasot", root, split="test", with_frames=False, names=[name])
