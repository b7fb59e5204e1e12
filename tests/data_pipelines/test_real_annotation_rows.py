"""Issue 16: rows of the REAL annotation files, read and scored as the official toolkits do.

Each test types a handful of rows in the format of the real files (the row that broke us kept
verbatim where the issue quotes one) and asserts the value a toolkit gives, or that training
sees the frame as unusable -- not only that reading does not raise.

Toolkit facts used:
* LaSOT toolkit `utils/calc_seq_err_robust.m`: ground-truth rows with any value <= 0 score
  overlap -1 (a failure at every threshold) and centre error -1 (a success at every threshold).
* VOT toolkit `vot/region/io.py` (`parse_region`, `read_trajectory`) and
  `vot/region/shapes.py` (`Rectangle.convert`): a one-value line is a special (empty) region,
  4 values a rectangle, an even count > 4 a polygon whose rectangle is min/max of its points
  (no +1), a NaN among the values special region 0; `vot/analysis/longterm.py`: recall divides
  by the frames whose ground truth is not special.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from data_pipelines import augment as aug
from data_pipelines import datasets
from data_pipelines.sampling import BoxFilter, FrameSource, PairSampler
from data_pipelines.writers import write_jpeg
from dmtrack_apps import cli
from eval import ope_metrics, result_files, scoring


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _frames(folder: pathlib.Path, count: int, hw=(64, 80), start: int = 1, digits: int = 8):
    rng = np.random.default_rng(0)
    for k in range(start, start + count):
        image = rng.integers(0, 256, size=(*hw, 3), dtype=np.uint8)
        write_jpeg(str(folder / f"{k:0{digits}d}.jpg" if digits else folder / f"{k}.jpg"), image)


def _sampler(sequences, name: str) -> PairSampler:
    return PairSampler([FrameSource(name, sequences)], [1.0], None, seed=0, batch_size=2,
                       max_targets=1, reid_batch_size=1, reid_max_objects=1, max_frame_gap=10,
                       box_filter=BoxFilter(min_size=4.0, min_area=16.0),
                       settings=aug.AugmentSettings(),
                       buckets=aug.canvas_buckets("fit", fit_size=(96, 64)))


def _drawn_frames(sampler: PairSampler, draws: int = 100) -> set[int]:
    rng = np.random.default_rng(1)
    frames = set()
    for _ in range(draws):
        pair = sampler.draw_pair(rng)
        if pair is not None:
            frames.update((pair[0].frame_index, pair[1].frame_index))
    return frames


# ----------------------------------------------------------------------------- LaSOT


LION_5 = ["384,251,104,55", "385,252,103,55", "1,1,-1,-1", "388,250,101,56"]  # frame 553: row 3
TIGER_6 = ["610,728,250,60", "613,731,247,-11", "615,733,244,62"]  # frame 118: row 2


def _lasot_root(tmp_path) -> pathlib.Path:
    root = tmp_path / "lasot"
    for name, rows in (("lion-5", LION_5), ("tiger-6", TIGER_6)):
        folder = root / name.split("-")[0] / name
        _write(folder / "groundtruth.txt", "\n".join(rows) + "\n")
        for flags in ("full_occlusion.txt", "out_of_view.txt"):  # all present
            _write(folder / flags, ",".join(["0"] * len(rows)) + "\n")
    _write(root / "testing_set.txt", "lion-5\ntiger-6\n")
    return root


def test_lasot_negative_size_rows_are_unusable_for_training_and_invalid_for_scoring(tmp_path):
    root = _lasot_root(tmp_path)
    training = {s.name: s for s in datasets.read_dataset("lasot", root, with_frames=False)}
    lion, tiger = training["lion-5"], training["tiger-6"]
    np.testing.assert_array_equal(lion.ground_truth[2], [1, 1, -1, -1])
    np.testing.assert_array_equal(tiger.ground_truth[1], [613, 731, 247, -11])
    assert lion.present.all() and tiger.present.all()  # the flags say present ...
    np.testing.assert_array_equal(lion.valid, [True, True, False, True])  # ... unusable
    np.testing.assert_array_equal(tiger.valid, [True, False, True])
    np.testing.assert_array_equal(lion.absent, [False, False, True, False])
    assert np.isnan(lion.boxes[2]).all() and np.isnan(tiger.boxes[1]).all()
    # The sampler's candidate frames leave them out (no frames are read to prepare).
    sampler = _sampler([lion, tiger], "lasot")
    np.testing.assert_array_equal(sampler.prepared[0][0].anchor_frames, [0, 1, 3])
    np.testing.assert_array_equal(sampler.prepared[0][1].anchor_frames, [0, 2])
    # Evaluation reads the very same rows and scores them as the LaSOT toolkit does.
    scored = {s.name: s for s in scoring.read_sequences("lasot", root)}
    np.testing.assert_array_equal(scored["tiger-6"].ground_truth, tiger.ground_truth)
    gt = scored["lion-5"].ground_truth
    errors = ope_metrics.lasot_errors(gt.copy(), gt, scored["lion-5"].present)
    np.testing.assert_array_equal(errors.overlap, [1, 1, -1, 1])  # failure ...
    np.testing.assert_array_equal(errors.centre_error, [0, 0, -1, 0])  # ... and a hit
    with pytest.raises(TypeError):  # one behaviour: the switch is gone
        datasets.read_dataset("lasot", root, with_frames=False, allow_negative_sizes=True)


# ----------------------------------------------------------------------------- GOT-10k


GOT_ROWS = [  # 80x64 frames: row 1 pokes out left, row 2 is absent, row 3 out right/bottom
    "-6.0000,10.0000,30.0000,24.0000",
    "-1,-1,-1,-1",
    "62.0000,44.0000,28.0000,26.0000",
    "20.0000,20.0000,30.0000,24.0000",
]


def _got10k_root(tmp_path) -> pathlib.Path:
    root = tmp_path / "got10k"
    folder = root / "train" / "GOT-10k_Train_000001"
    _write(root / "train" / "list.txt", "GOT-10k_Train_000001\n")
    _write(folder / "groundtruth.txt", "\n".join(GOT_ROWS) + "\n")
    _write(folder / "absence.label", "0\n1\n0\n0\n")
    _write(folder / "cover.label", "8\n0\n5\n8\n")
    _write(folder / "meta_info.ini", "[METAINFO]\nobject_class: fish\nresolution: (80, 64)\n")
    _frames(folder, len(GOT_ROWS))
    return root


def test_got10k_minus_one_rows_are_absent_and_border_boxes_train(tmp_path):
    (sequence,) = datasets.read_dataset("got10k", _got10k_root(tmp_path), "train")
    np.testing.assert_array_equal(sequence.ground_truth[1], [-1, -1, -1, -1])
    np.testing.assert_array_equal(sequence.present, [True, False, True, True])
    np.testing.assert_array_equal(sequence.absent, [False, True, False, False])
    np.testing.assert_array_equal(sequence.valid, [True, False, True, True])
    np.testing.assert_array_equal(sequence.boxes[0], [-6, 10, 30, 24])  # kept as read
    sampler = _sampler([sequence], "got10k")
    assert _drawn_frames(sampler) == {0, 2, 3}  # the border boxes are drawn, frame 1 never
    # Through the augmentation: the box past the border is clipped to the frame and stays
    # a valid target (augment_view clips before anything else).
    image = np.zeros((64, 80, 3), np.uint8)
    for row, clipped in ((0, [0, 10, 24, 34]), (2, [62, 44, 80, 64])):
        x, y, w, h = sequence.boxes[row]
        settings = aug.AugmentSettings(photometric=False, expand=False, ssd_crop=False,
                                       flip_prob=0.0)
        _, boxes, valid = aug.augment_view(image, [[x, y, x + w, y + h]], [True],
                                           aug.Bucket(64, 80, True), np.random.default_rng(0),
                                           settings)
        assert valid[0]
        np.testing.assert_allclose(boxes[0], clipped)
    batch = sampler.sot_batch(0)
    assert batch["box_valid"][:, 0].all()
    boxes = batch["search_boxes"][:, 0]
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes >= 0).all()


# ----------------------------------------------------------------------------- TrackingNet


def test_trackingnet_negative_x_is_a_valid_training_box(tmp_path):
    root = tmp_path / "trackingnet"
    # Tab-delimited as some TRAIN_k files are; the box starts 9.5 px left of the image.
    _write(root / "TRAIN_0" / "anno" / "abc_1.txt",
           "-9.5\t12.0\t34.0\t26.0\n-4.0\t13.0\t34.0\t26.0\n2.0\t14.0\t34.0\t26.0\n")
    _frames(root / "TRAIN_0" / "frames" / "abc_1", 3, start=0, digits=0)
    (sequence,) = datasets.read_dataset("trackingnet", root, "TRAIN_0")
    np.testing.assert_array_equal(sequence.ground_truth[0], [-9.5, 12, 34, 26])
    np.testing.assert_array_equal(sequence.valid, [True, True, True])
    sampler = _sampler([sequence], "trackingnet")
    assert _drawn_frames(sampler) == {0, 1, 2}
    assert sampler.sot_batch(0)["box_valid"][:, 0].all()


# ----------------------------------------------------------------------------- VOT-LT


VOT_GT = [
    "10,10,20,20",  # 1: rectangle (initialisation)
    "0",  # 2: one-value line, as the toolkit writes a frame without the target
    "20,10,30,20,20,30,10,20",  # 3: rotated polygon -> min/max box 10,10,20,20
    "nan,nan,nan,nan",  # 4: absent
    "10.5,10,30.5,10,30.5,30,10.5,30",  # 5: axis-aligned polygon -> 10.5,10,20,20
]


def _votlt_root(tmp_path) -> pathlib.Path:
    root = tmp_path / "vot"
    _write(root / "list.txt", "ballet\n")
    _write(root / "ballet" / "groundtruth.txt", "\n".join(VOT_GT) + "\n")
    _write(root / "ballet" / "sequence", "channels.color=color/%08d.jpg\nwidth=64\nheight=48\n")
    return root


def test_votlt_mixed_region_lines_read_as_the_vot_toolkit(tmp_path):
    (sequence,) = datasets.read_dataset("votlt", _votlt_root(tmp_path), with_frames=False)
    np.testing.assert_array_equal(sequence.present, [True, False, True, False, True])
    nan = np.nan
    np.testing.assert_array_equal(sequence.ground_truth, [
        [10, 10, 20, 20], [nan] * 4, [10, 10, 20, 20], [nan] * 4, [10.5, 10, 20, 20]])


@pytest.mark.parametrize("line, message", [
    ("1,2", r"groundtruth\.txt:2 .*got 2"),  # a point: not a target region
    ("1,2,3,4,5", r"groundtruth\.txt:2 .*got 5"),
    ("m1,2,3", r"groundtruth\.txt:2: 'm1' is not a number"),  # masks: not supported
])
def test_votlt_other_region_kinds_name_file_and_line(tmp_path, line, message):
    root = _votlt_root(tmp_path)
    _write(root / "ballet" / "groundtruth.txt", f"10,10,20,20\n{line}\n")
    with pytest.raises(ValueError, match=message):
        datasets.read_dataset("votlt", root, with_frames=False)


def test_votlt_scores_a_file_with_one_value_lines_hand_worked(tmp_path):
    """Frames 2..5 (frame 1 is the initialisation, no confidence):
    frame 2 gt absent, conf 0.9, overlap 0; frame 3 gt 10,10,20,20, pred equal, conf 0.8,
    overlap 1; frame 4 gt absent, conf 0.2, overlap 0; frame 5 gt 10.5,10,20,20, pred
    10.5,10,20,10, conf 0.6, overlap 0.5. Present frames (not special): 1, 3, 5 -> 3.
    Thresholds inf, .9, .8, .6, .2, -inf:
      .9: Pr 0, Re 0; .8: Pr 1/2, Re 1/3, F 0.4; .6: Pr 1.5/3, Re 1.5/3, F 0.5;
      .2 and -inf: Pr 1.5/4, Re 1/2, F 3/7.  Best F 0.5 at t = 0.6: Pr 0.5, Re 0.5.
    """
    root = _votlt_root(tmp_path)
    results = tmp_path / "results"
    boxes = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [10, 10, 20, 20], [40, 30, 10, 10],
                      [10.5, 10, 20, 10]], float)
    result_files.write_votlt_result(results, "ballet", boxes, [1.0, 0.9, 0.8, 0.2, 0.6])
    summary = scoring.score_results("votlt", root, results)
    assert summary["scores"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f_score": 0.5})
    # The command that used to stop with "rows have different numbers of values":
    assert cli.main(["eval", "--benchmark", "votlt", "--root", str(root), "--results-dir",
                     str(results), "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f_score": 0.5})


# ----------------------------------------------------------------------------- blank lines


def _otb_root(tmp_path):
    root = tmp_path / "otb"
    _write(root / "Crossing" / "groundtruth_rect.txt", "205\t151\t17\t50\n" * 3)
    return root


def _tlp_root(tmp_path):
    root = tmp_path / "tlp"
    _write(root / "Alladin" / "groundtruth_rect.txt", "1,5,6,7,8,0\n2,5,6,7,8,0\n3,5,6,7,8,1\n")
    return root


def _trackingnet_root(tmp_path):
    root = tmp_path / "trackingnet"
    _write(root / "TRAIN_0" / "anno" / "abc_1.txt", "1,2,30,40\n" * 3)
    return root


def _mot_root(tmp_path):
    root = tmp_path / "mot17"
    folder = root / "train" / "MOT17-02-FRCNN"
    _write(folder / "seqinfo.ini", "[Sequence]\nname=MOT17-02-FRCNN\nimDir=img1\nframeRate=30\n"
           "seqLength=3\nimWidth=64\nimHeight=48\nimExt=.jpg\n")
    _write(folder / "gt" / "gt.txt", "".join(f"{k},1,5,6,10,20,1,1,1.0\n" for k in (1, 2, 3)))
    return root


def _lasot_one(tmp_path):
    root = tmp_path / "lasot"
    folder = root / "airplane" / "airplane-1"
    _write(folder / "groundtruth.txt", "1,2,30,40\n" * 3)
    _write(folder / "full_occlusion.txt", "0,0,0\n")
    _write(folder / "out_of_view.txt", "0,0,0\n")
    _write(root / "train_list.txt", "airplane-1\n")
    return root


# (dataset, split, root builder, file relative to the root)
ANNOTATION_FILES = [
    ("lasot", None, _lasot_one, "airplane/airplane-1/groundtruth.txt"),
    ("lasot", None, _lasot_one, "airplane/airplane-1/full_occlusion.txt"),
    ("lasot", None, _lasot_one, "airplane/airplane-1/out_of_view.txt"),
    ("lasot", "train_list.txt", _lasot_one, "train_list.txt"),
    ("got10k", "train", _got10k_root, "train/GOT-10k_Train_000001/groundtruth.txt"),
    ("got10k", "train", _got10k_root, "train/GOT-10k_Train_000001/absence.label"),
    ("got10k", "train", _got10k_root, "train/GOT-10k_Train_000001/cover.label"),
    ("got10k", "train", _got10k_root, "train/list.txt"),
    ("trackingnet", None, _trackingnet_root, "TRAIN_0/anno/abc_1.txt"),
    ("otb", None, _otb_root, "Crossing/groundtruth_rect.txt"),
    ("tlp", None, _tlp_root, "Alladin/groundtruth_rect.txt"),
    ("votlt", None, _votlt_root, "ballet/groundtruth.txt"),
    ("votlt", None, _votlt_root, "ballet/sequence"),
    ("votlt", None, _votlt_root, "list.txt"),
    ("mot17", None, _mot_root, "train/MOT17-02-FRCNN/gt/gt.txt"),
]


def _lines(path: pathlib.Path) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    if len(lines) == 1 and "," in lines[0]:  # LaSOT flags: one line; split it in two
        values = lines[0].split(",")
        lines = [",".join(values[:1]) + ",", ",".join(values[1:])]
    return lines


@pytest.mark.parametrize("dataset, split, build, relative", ANNOTATION_FILES,
                         ids=[f"{d}:{r}" for d, _, _, r in ANNOTATION_FILES])
def test_blank_line_in_the_middle_names_that_file_and_line(tmp_path, dataset, split, build,
                                                             relative):
    root = build(tmp_path)
    path = root / relative
    lines = _lines(path)
    at = 1 if len(lines) >= 2 else 0  # a one-entry list: the blank line goes first
    path.write_text("\n".join(lines[:at] + ["  \t"] + lines[at:]) + "\n")
    name = relative.split("/")[-1].replace(".", "[.]")
    with pytest.raises(ValueError, match=rf"{name}:{at + 1}: blank line"):
        datasets.read_dataset(dataset, root, split, with_frames=False)


@pytest.mark.parametrize("dataset, split, build, relative", ANNOTATION_FILES,
                         ids=[f"{d}:{r}" for d, _, _, r in ANNOTATION_FILES])
def test_trailing_blank_lines_end_the_file(tmp_path, dataset, split, build, relative):
    root = build(tmp_path)
    before = datasets.read_dataset(dataset, root, split, with_frames=False)
    path = root / relative
    path.write_text(path.read_text() + "\n \n\t\n")  # an extra empty line and whitespace ones
    after = datasets.read_dataset(dataset, root, split, with_frames=False)
    assert [s.name for s in after] == [s.name for s in before]
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a.ground_truth, b.ground_truth)
        np.testing.assert_array_equal(a.present, b.present)
        assert len(a) == len(b)


def test_blank_groundtruth_line_is_not_blamed_on_the_label_files(tmp_path):
    """The reported symptom: a blank line in groundtruth.txt used to be skipped, and the error
    came later as "absence.label: 4 labels for 3 frames"."""
    root = _got10k_root(tmp_path)
    path = root / "train" / "GOT-10k_Train_000001" / "groundtruth.txt"
    path.write_text("\n".join(GOT_ROWS[:2] + [""] + GOT_ROWS[2:]) + "\n")
    with pytest.raises(ValueError) as error:
        datasets.read_dataset("got10k", root, "train", with_frames=False)
    assert "groundtruth.txt:3: blank line" in str(error.value)
    assert "absence.label" not in str(error.value)


@pytest.mark.parametrize("relative, line, message", [
    ("train/GOT-10k_Train_000001/absence.label", "x", r"absence\.label:2: 'x' is not a number"),
    ("train/GOT-10k_Train_000001/cover.label", "9", r"cover\.label:2: label 9 outside 0\.\.8"),
    ("train/GOT-10k_Train_000001/groundtruth.txt", "1,2,3",
     r"groundtruth\.txt:2: expected 4 values, got 3"),
])
def test_malformed_got10k_line_names_file_and_line(tmp_path, relative, line, message):
    root = _got10k_root(tmp_path)
    path = root / relative
    lines = path.read_text().splitlines()
    lines[1] = line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        datasets.read_dataset("got10k", root, "train", with_frames=False)


def test_oxuva_csv_blank_line_in_the_middle_is_an_error(tmp_path):
    _write(tmp_path / "tasks" / "dev.csv", "vid,obj,0,90,0.1,0.3,0.2,0.4\n\n"
           "vid,obj2,0,90,0.1,0.3,0.2,0.4\n\n")
    with pytest.raises(ValueError, match=r"dev\.csv:2: blank line"):
        datasets.read_dataset("oxuva", tmp_path, "dev", with_frames=False)
    _write(tmp_path / "tasks" / "dev.csv", "vid,obj,0,90,0.1,0.3,0.2,0.4\n\n \n")
    (task,) = datasets.read_dataset("oxuva", tmp_path, "dev", with_frames=False)
    assert task.name == "vid_obj"
