"""The LaSOT, GOT-10k, TrackingNet and OTB readers serve training and evaluation at once.

Each test writes a tiny dataset in the real layout, reads it ONCE with
`data_pipelines.datasets.read_dataset`, then checks that the same `Sequence` objects give
training its view (presence, `boxes`/`absent`/`valid`, frames through `FrameSource`, pair
draws) and evaluation its view (raw ground truth and presence flags, frames through the
benchmark runner, scores from eval's own metric code). Expected numbers are worked by hand in
the comments. Frame k of a sequence is a uniform grey JPEG of level 10 * (k + 1), so a frame's
index can be read back from its pixels.
"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from data_pipelines import augment as aug
from data_pipelines import datasets
from data_pipelines.sampling import BoxFilter, FrameSource, PairSampler
from dmtrack_common.boxes import xywh_to_xyxy
from eval import got10k_metrics, ope_metrics, runner

HW = (48, 64)
NAN4 = [np.nan] * 4


def write_rows(path, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(delimiter.join(str(v) for v in row) + "\n" for row in rows))


def write_frame(path, index, level=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    value = 10 * (index + 1) if level is None else level
    assert cv2.imwrite(str(path), np.full((*HW, 3), value, np.uint8))


def frame_index(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / 10)) - 1


class ScriptedTracker:
    """Single-object protocol: on frame k (read from its pixels) returns `predictions[k]`."""

    def __init__(self, predictions):
        self.predictions, self.seen = predictions, []

    def initialize(self, frame, box):
        self.seen.append(frame_index(frame))

    def track(self, frame):
        self.seen.append(frame_index(frame))
        return SimpleNamespace(box=np.asarray(self.predictions[self.seen[-1]], np.float64),
                               confidence=1.0)


def track(sequence, predictions):
    tracker = ScriptedTracker(predictions)
    output = runner.track_sequence(tracker, sequence)
    assert tracker.seen == list(range(len(sequence)))  # every frame, in order
    np.testing.assert_array_equal(output.boxes[0], sequence.ground_truth[0])  # init box
    return output.boxes


def assert_training_frames(name, sequence):
    source = FrameSource(name, [sequence])
    assert [frame_index(source.read_frame(0, t)) for t in range(len(sequence))] == \
        list(range(len(sequence)))


def test_lasot_one_read_serves_sampling_and_ope_scoring(tmp_path):
    root = tmp_path / "lasot"
    folder = root / "cat" / "cat-1"
    gt = [[10, 10, 20, 20], [12, 10, 20, 20], [0, 0, 0, 0], [14, 10, 20, 20]]
    write_rows(folder / "groundtruth.txt", gt)
    (folder / "full_occlusion.txt").write_text("0,0,1,0\n")
    (folder / "out_of_view.txt").write_text("0,0,0,1\n")
    for k in range(4):
        write_frame(folder / "img" / f"{k + 1:08d}.jpg", k)
    (seq,) = datasets.read_dataset("lasot", root)

    # Evaluation's view: the rows as written (the zero row included) and the toolkit's flags.
    assert (seq.name, seq.dataset, seq.object_class) == ("cat-1", "lasot", "cat")
    np.testing.assert_array_equal(seq.ground_truth, gt)
    np.testing.assert_array_equal(seq.present, [True, True, False, False])
    # Training's view: occluded / out-of-view frames are absent, their boxes NaN.
    np.testing.assert_array_equal(seq.absent, [False, False, True, True])
    np.testing.assert_array_equal(seq.valid, [True, True, False, False])
    np.testing.assert_array_equal(seq.boxes, [gt[0], gt[1], NAN4, NAN4])
    assert_training_frames("lasot", seq)
    sampler = PairSampler(
        [FrameSource("lasot", [seq])], [1.0], None, seed=0, batch_size=1, max_targets=2,
        reid_batch_size=1, reid_max_objects=2, max_frame_gap=5,
        box_filter=BoxFilter(min_area=16, min_size=4, max_size=960, min_relative=0.01,
                             max_relative=0.75, min_aspect=0.2, max_aspect=5),
        settings=aug.AugmentSettings(photometric=False, expand=False, ssd_crop=False,
                                     flip_prob=0.0),
        buckets=aug.canvas_buckets("fit", fit_size=(160, 128)))
    rng = np.random.default_rng(0)
    drawn = set()
    for _ in range(20):
        for view in sampler.draw_pair(rng):
            assert view.frame_index in (0, 1)  # only the two visible frames
            assert frame_index(view.image) == view.frame_index
            np.testing.assert_array_equal(view.boxes, xywh_to_xyxy([gt[view.frame_index]]))
            drawn.add(view.frame_index)
    assert drawn == {0, 1}

    # The runner tracks the same object; LaSOT toolkit scoring by hand: IoUs (inclusive
    # pixels) frame 1 = 1 (replaced by the ground truth), frame 2: [22,10,20,20] vs
    # [12,10,20,20] overlaps 10x20 -> 200 / 600 = 1/3, frames 3-4 absent -> -1. Success over
    # t = 0:0.05:1: frame 1 passes 20 thresholds, frame 2 passes 7 (t <= 0.30) -> 27 / (4*21).
    # Centre errors 0, 10, inf, inf -> precision@20 = 2/4; normalised 0, 0.5 -> 1/4.
    boxes = track(seq, {1: [22, 10, 20, 20], 2: [40, 30, 5, 5], 3: [14, 10, 20, 20]})
    result = ope_metrics.evaluate_ope([boxes], [seq.ground_truth], [seq.present], [seq.name])
    assert result.scores() == pytest.approx({"success": 27 / 84, "precision": 0.5,
                                             "norm_precision": 0.25})


def test_got10k_one_read_serves_training_views_and_ao_scoring(tmp_path):
    root = tmp_path / "got10k"
    (root / "val").mkdir(parents=True)
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    folder = root / "val" / "GOT-10k_Val_000001"
    gt = [[10, 10, 20, 20], [10, 10, 20, 20], [30, 20, 10, 10], [50, 30, 20, 20]]
    write_rows(folder / "groundtruth.txt", gt)
    (folder / "absence.label").write_text("0\n0\n1\n0\n")
    (folder / "cover.label").write_text("8\n5\n0\n3\n")
    (folder / "meta_info.ini").write_text(
        "[METAINFO]\nurl: https://youtu.be/x?t=1%20s\nobject_class: cat\nresolution: (64, 48)\n")
    for k in range(4):
        write_frame(folder / f"{k + 1:08d}.jpg", k)
    (seq,) = datasets.read_dataset("got10k", root, "val")

    assert (seq.name, seq.object_class, seq.image_size) == ("GOT-10k_Val_000001", "cat", (48, 64))
    np.testing.assert_array_equal(seq.ground_truth, gt)
    np.testing.assert_array_equal(seq.present, [True, True, False, True])
    np.testing.assert_array_equal(seq.cover, [8, 5, 0, 3])
    # Training: the absent frame's box (a valid-looking row) is dropped.
    np.testing.assert_array_equal(seq.absent, [False, False, True, False])
    np.testing.assert_array_equal(seq.valid, [True, True, False, True])
    np.testing.assert_array_equal(seq.boxes, [gt[0], gt[1], NAN4, gt[3]])
    assert_training_frames("got10k", seq)

    # got10k-toolkit by hand: frames 2.. with cover > 0 are frames 2 and 4. Frame 2:
    # [20,10,20,20] vs [10,10,20,20] -> 200 / 600 = 1/3. Frame 4, boxes bounded to the 64x48
    # image: gt [50,30,20,20] -> [50,30,14,18] (252 px), prediction [50,30,10,10] inside it
    # -> 100 / 252 = 25/63. AO = (1/3 + 25/63) / 2 = 23/63; no IoU reaches 0.5.
    boxes = track(seq, {1: [20, 10, 20, 20], 2: [0, 0, 5, 5], 3: [50, 30, 10, 10]})
    width_height = seq.image_size[::-1]
    ious = got10k_metrics.sequence_ious([boxes], seq.ground_truth, seq.cover, width_height)
    np.testing.assert_allclose(ious, [1 / 3, 25 / 63])
    summary = got10k_metrics.summarise([ious])
    assert (summary["ao"], summary["sr50"], summary["sr75"]) == pytest.approx((23 / 63, 0, 0))


def test_trackingnet_one_read_serves_training_and_server_scoring(tmp_path):
    root = tmp_path / "trackingnet"
    gt = [[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20], [16, 10, 20, 20]]
    write_rows(root / "TRAIN_0" / "anno" / "vid_a.txt", gt, delimiter="\t")
    write_rows(root / "TEST" / "anno" / "vid_t.txt", [[5, 6, 20, 20]])  # initial box only
    for k in range(4):
        write_frame(root / "TRAIN_0" / "frames" / "vid_a" / f"{k}.jpg", k)
    for k in range(3):
        write_frame(root / "TEST" / "frames" / "vid_t" / f"{k}.jpg", k)
    test_seq, train_seq = datasets.read_dataset("trackingnet", root)  # chunks TEST, TRAIN_0

    np.testing.assert_array_equal(train_seq.ground_truth, gt)
    np.testing.assert_array_equal(train_seq.present, [True] * 4)  # no absence labels
    np.testing.assert_array_equal(train_seq.boxes, gt)
    assert train_seq.valid.all() and [p.name for p in train_seq.frame_paths] == \
        ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert_training_frames("trackingnet", train_seq)
    # TEST: three frames from the folder, one public box; later frames unknown, not absent.
    assert len(test_seq) == 3 and test_seq.ground_truth.shape == (1, 4)
    np.testing.assert_array_equal(test_seq.boxes, [[5, 6, 20, 20], NAN4, NAN4])
    np.testing.assert_array_equal(test_seq.absent, [False] * 3)
    np.testing.assert_array_equal(test_seq.valid, [True, False, False])
    assert_training_frames("trackingnet", test_seq)

    # The TEST video is tracked from its one box over all three frames (scored by the server).
    held = track(test_seq, {1: [6, 6, 20, 20], 2: [7, 6, 20, 20]})
    np.testing.assert_array_equal(held, [[5, 6, 20, 20], [6, 6, 20, 20], [7, 6, 20, 20]])
    # TrackingNet server by hand (inclusive pixels, IoU >= t, trapezoid over 21 points):
    # IoUs 1, 1/3 ([22..41] vs [12..31]: 10x20 of 600), 1, 0 ([60..] misses [16..35]).
    # Success curve 1 at t=0, 0.75 for t=0.05..0.30, 0.5 for t=0.35..1:
    #   0.05 * (1 + 6*0.75 + 14*0.5 - (1 + 0.5)/2) = 0.5875.
    # Centre errors 0, 10, 0, 44 on t = 0:2.5:50: 0.5 up to 7.5, 0.75 from 10 to 42.5, 1 from
    # 45: 0.05 * (4*0.5 + 14*0.75 + 3*1 - (0.5 + 1)/2) = 0.7375.
    # Normalised 0, 0.5, 0, 2.2 on t = 0:0.025:0.5: 0.5 below 0.5, 0.75 at 0.5:
    #   0.05 * (20*0.5 + 0.75 - (0.5 + 0.75)/2) = 0.50625.
    boxes = track(train_seq, {1: [22, 10, 20, 20], 2: [14, 10, 20, 20], 3: [60, 10, 20, 20]})
    result = ope_metrics.evaluate_ope([boxes], [train_seq.ground_truth], [train_seq.present],
                                      [train_seq.name], "trackingnet")
    assert result.scores() == pytest.approx({"success": 0.5875, "precision": 0.7375,
                                             "norm_precision": 0.50625})


def test_otb_one_read_serves_training_and_ope_scoring_with_toolkit_quirks(tmp_path):
    root = tmp_path / "otb"
    gt = [[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]]
    write_rows(root / "David" / "groundtruth_rect.txt", gt, delimiter="\t")
    write_rows(root / "Jogging" / "groundtruth_rect.1.txt", [[10, 10, 20, 20]] * 2)
    write_rows(root / "Jogging" / "groundtruth_rect.2.txt", [[1, 2, 3, 4]] * 2, delimiter=" ")
    write_rows(root / "Tiger1" / "groundtruth_rect.txt", [[i, 0, 5, 5] for i in range(1, 9)])
    for number in (1, 299, 303):  # David's annotation covers images 300-302 only
        write_frame(root / "David" / "img" / f"{number:04d}.jpg", 0, level=200)
    for k in range(3):
        write_frame(root / "David" / "img" / f"{300 + k:04d}.jpg", k)
    for number in range(1, 3):
        write_frame(root / "Jogging" / "img" / f"{number:04d}.jpg", number - 1)
    for number in range(1, 9):
        write_frame(root / "Tiger1" / "img" / f"{number:04d}.jpg", 0, level=200)
    sequences = {s.name: s for s in datasets.read_dataset("otb", root)}

    assert sorted(sequences) == ["David", "Jogging-1", "Jogging-2", "Tiger1"]
    david, tiger = sequences["David"], sequences["Tiger1"]
    np.testing.assert_array_equal(sequences["Jogging-2"].ground_truth, [[1, 2, 3, 4]] * 2)
    np.testing.assert_array_equal(sequences["Jogging-2"].boxes, [[1, 2, 3, 4]] * 2)
    # Tiger1: the toolkit omits the first 5 annotated frames -> starts at image 6.
    np.testing.assert_array_equal(tiger.ground_truth[:, 0], [6, 7, 8])
    assert [p.name for p in tiger.frame_paths] == ["0006.jpg", "0007.jpg", "0008.jpg"]
    # David starts at image 300: row i is image 300 + i, for training and tracking alike.
    assert [p.name for p in david.frame_paths] == ["0300.jpg", "0301.jpg", "0302.jpg"]
    assert david.extra["start_frame"] == 300
    np.testing.assert_array_equal(david.present, [True] * 3)
    np.testing.assert_array_equal(david.boxes, gt)
    assert david.valid.all()
    assert_training_frames("otb", david)

    # OTB scored with the LaSOT toolkit's rules, by hand: IoUs 1, 1/3, 1; success over
    # t = 0:0.05:1: 3 frames pass t <= 0.30 (7 thresholds), 2 frames t = 0.35..0.95 (13)
    # -> (21 + 26) / 63. Centre errors 0, 10, 0 -> precision@20 = 1; normalised 0, 0.5, 0
    # -> 2/3 at 0.2.
    boxes = track(david, {1: [22, 10, 20, 20], 2: [14, 10, 20, 20]})
    result = ope_metrics.evaluate_ope([boxes], [david.ground_truth], [david.present],
                                      [david.name])
    assert result.scores() == pytest.approx({"success": 47 / 63, "precision": 1.0,
                                             "norm_precision": 2 / 3})
