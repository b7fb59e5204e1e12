"""The released tracker's pre- and post-processing (issue 17 facts 1-11) against hand-worked
numbers: the resize rule, the padding, the template clip, the candidate clamp, the class
ranking and cap, the thresholds, the top1 selection, the GS config's values; and the canvas
groups and per-size compiles of `BatchedTracker` on the shipped tiny checkpoint."""

from __future__ import annotations

import logging

import jax.numpy as jnp
import numpy as np
import pytest

from configs import dmtrack_gs_official
from dmtrack_jax.ops.postprocess import select_candidates
from dmtrack_jax.tracking.association import Candidates, TargetAssociator
from dmtrack_jax.tracking.config import check_tracker_config, default_tracker_config
from dmtrack_jax.tracking.network import (PIXEL_MEAN, PIXEL_STD, clip_template_boxes,
                                          preprocess_frame, resize_frame_size)


# ------------------------------------------------------------------ resize (fact 3)
@pytest.mark.parametrize("frame_hw, expected_hw, s", [
    # landscape 1280x720: s = min(736/1280, 512/720) = 0.575 -> 736 x 414
    ((720, 1280), (414, 736), 0.575),
    # portrait 720x1280 (W x H): the same long side, 414 wide x 736 tall
    ((1280, 720), (736, 414), 0.575),
    # 1472x1021: s = min(0.5, 512/1021) = 0.5, h = int(510.5 + 0.5) = 511 (half up)
    ((1021, 1472), (511, 736), 0.5),
    # 224x160 upscaled: s = min(736/224, 512/160) = 3.2 -> int(716.8 + 0.5) = 717 x 512
    ((160, 224), (512, 717), 3.2),
    # odd 500x333: s = min(736/500, 512/333) = 1.472 -> 736 x int(490.176 + 0.5) = 490
    ((333, 500), (490, 736), 1.472),
])
def test_long_short_rule_hand_worked(frame_hw, expected_hw, s):
    new_h, new_w, scales = resize_frame_size(frame_hw, (512, 736), "long_short")
    assert (new_h, new_w) == expected_hw
    np.testing.assert_allclose(scales, [s] * 4, rtol=1e-12)  # one scalar for both axes


def test_fit_rule_is_the_older_one():
    # min(512/1021, 736/1472) = 0.5; round(510.5) = 510 (half to even), per-axis factors.
    new_h, new_w, scales = resize_frame_size((1021, 1472), (512, 736), "fit")
    assert (new_h, new_w) == (510, 736)
    np.testing.assert_allclose(scales, [0.5, 510 / 1021, 0.5, 510 / 1021])
    # A 720x1280 portrait frame: 288 x 512 under 'fit', 414 x 736 under 'long_short'.
    assert resize_frame_size((1280, 720), (512, 736), "fit")[:2] == (512, 288)
    with pytest.raises(ValueError, match="unknown resize rule 'nope'"):
        resize_frame_size((10, 10), (512, 736), "nope")


# ------------------------------------------------------------------ padding (facts 4-5)
def test_pad_to_32_after_normalising():
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 200, 100, 50
    canvas, scales, resized = preprocess_frame(frame, (512, 736))
    assert canvas.shape == (416, 736, 3) and canvas.dtype == np.float32
    assert resized == (414, 736)
    np.testing.assert_allclose(scales, [0.575] * 4)
    expected = (np.array([200, 100, 50], np.float32) - PIXEL_MEAN) / PIXEL_STD
    np.testing.assert_allclose(canvas[:414], np.broadcast_to(expected, (414, 736, 3)), rtol=1e-6)
    assert not canvas[414:].any()  # two zero rows, zeros after normalisation
    # Portrait: 414 wide -> 416; 500x333 -> 736 x 490 -> 736 x 512.
    assert preprocess_frame(np.zeros((1280, 720, 3), np.uint8), (512, 736))[0].shape == (
        736, 416, 3)
    assert preprocess_frame(np.zeros((333, 500, 3), np.uint8), (512, 736))[0].shape == (
        512, 736, 3)


def test_fixed_canvas_stays_an_option():
    canvas, _, resized = preprocess_frame(np.zeros((720, 1280, 3), np.uint8), (512, 736),
                                          resize_rule="fit", canvas="fixed")
    assert canvas.shape == (512, 736, 3) and resized == (414, 736)
    with pytest.raises(ValueError, match="does not fit the fixed 736x512 canvas"):
        preprocess_frame(np.zeros((1280, 720, 3), np.uint8), (512, 736), canvas="fixed")
    config = default_tracker_config()
    config.canvas = "fixed"
    with pytest.raises(ValueError, match="canvas='fixed' needs config.tracker.resize_rule"):
        check_tracker_config(config)
    config.resize_rule = "fit"
    check_tracker_config(config)


# ------------------------------------------------------------------ template clip (fact 6)
def test_template_box_clipped_to_the_padded_canvas():
    boxes = np.array([[-5.0, 10.0, 740.0, 420.0], [100.0, -3.0, 200.5, 50.0]])
    np.testing.assert_array_equal(clip_template_boxes(boxes, (416, 736)),
                                  [[0.0, 10.0, 735.0, 415.0], [100.0, 0.0, 200.5, 50.0]])


# ------------------------------------------------------------------ decode, clamp, classes
def _maps(points):
    """One 2x2 level (stride 8) with `points` {(i, j): (cls0, cls1, ctr, (l, t, r, b))};
    every other cell scores sigmoid(-6) ~ 0.0025 in both classes."""
    cls = np.full((2, 2, 2), -6.0, np.float32)
    ctr = np.zeros((2, 2, 1), np.float32)
    reg = np.ones((2, 2, 4), np.float32)
    for (i, j), (c0, c1, c, distances) in points.items():
        cls[i, j] = [c0, c1]
        ctr[i, j] = c
        reg[i, j] = distances
    return [jnp.asarray(cls)], [jnp.asarray(reg)], [jnp.asarray(ctr)]


def _valid(result):
    boxes, scores, valid = (np.asarray(v) for v in result)
    return boxes[valid], scores[valid]


def test_clamp_to_the_resized_frame_not_the_canvas():
    # Cell (1, 1): point (12, 12); l, t, r, b = 20, 2, 30, 9 -> (-8, 10, 42, 21); clamped to
    # x in [0, 20], y in [0, 18] (w = 20, not w - 1).
    cls, reg, ctr = _maps({(1, 1): (-6.0, 3.0, 0.0, (20.0, 2.0, 30.0, 9.0))})
    boxes, _ = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 1, 0.0,
                                        clip_hw=jnp.asarray([18.0, 20.0])))
    np.testing.assert_allclose(boxes, [[0.0, 10.0, 20.0, 18.0]])
    boxes, _ = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 1, 0.0))
    np.testing.assert_allclose(boxes, [[-8.0, 10.0, 42.0, 21.0]])  # unclamped by default


def test_all_classes_share_the_cap_and_nms_is_per_class():
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    # Three locations; class 0 is strong at two of them, class 1 at all three.
    points = {(0, 0): (5.0, 1.0, 0.0, (4.0, 4.0, 4.0, 4.0)),   # box (0, 0, 8, 8)
              (0, 1): (4.0, 0.5, 0.0, (4.0, 4.0, 4.0, 4.0)),   # box (8, 0, 16, 8)
              (1, 1): (-6.0, 2.0, 0.0, (4.0, 4.0, 4.0, 4.0))}  # box (8, 8, 16, 16)
    cls, reg, ctr = _maps(points)
    # 'all', cap 3: class 0 at (0,0) 0.5 sig(5) = 0.497, at (0,1) 0.491, class 1 at (1,1)
    # 0.5 sig(2) = 0.440 fill the three slots: one class-1 candidate is returned.
    boxes, scores = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 3, 0.0,
                                             threshold_on="class_probability", classes="all"))
    np.testing.assert_allclose(boxes, [[8.0, 8.0, 16.0, 16.0]])
    np.testing.assert_allclose(scores, [0.5 * sig(2.0)], rtol=1e-6)
    # Cap 5: (1,1) 0.440, (0,0) 0.5 sig(1) = 0.366, (0,1) 0.311 of class 1, in that order.
    boxes, scores = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 5, 0.0,
                                             threshold_on="class_probability", classes="all"))
    np.testing.assert_allclose(scores, 0.5 * sig(np.array([2.0, 1.0, 0.5])), rtol=1e-6)
    # 'target' (ours before issue 17): the cap counts class 1 only, so all three come back.
    _, scores = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 3, 0.0))
    assert scores.shape == (3,)
    # Per-class NMS: the same box in both classes; class 0 does not suppress class 1.
    same = _maps({(0, 0): (5.0, 1.0, 0.0, (4.0, 4.0, 4.0, 4.0))})
    boxes, scores = _valid(select_candidates(*same, (8,), 4, 0.5, 3, 0.0,
                                             threshold_on="class_probability", classes="all"))
    np.testing.assert_allclose(scores[0], 0.5 * sig(1.0), rtol=1e-6)


def test_top_k_ranks_by_the_best_class():
    # pre_nms_top_k 1 on a level of 4 cells: 'all' keeps the cell whose best class scores most
    # ((0, 0), class 0 logit 5), so the class-1 candidate is that cell's (logit 1), not (1, 1).
    cls, reg, ctr = _maps({(0, 0): (5.0, 1.0, 0.0, (4.0, 4.0, 4.0, 4.0)),
                           (1, 1): (-6.0, 2.0, 0.0, (4.0, 4.0, 4.0, 4.0))})
    boxes, _ = _valid(select_candidates(cls, reg, ctr, (8,), 1, 0.5, 3, 0.0,
                                        threshold_on="class_probability", classes="all"))
    np.testing.assert_allclose(boxes, [[0.0, 0.0, 8.0, 8.0]])
    boxes, _ = _valid(select_candidates(cls, reg, ctr, (8,), 1, 0.5, 3, 0.0))
    np.testing.assert_allclose(boxes, [[8.0, 8.0, 16.0, 16.0]])


def test_candidate_threshold_is_strict_on_the_class_probability():
    # sigmoid(-200) is exactly 0 in float32: not a candidate under 'class_probability' > 0,
    # although its product score 0 would pass 'score' >= 0.
    cls, reg, ctr = _maps({(0, 0): (-200.0, -200.0, 0.0, (4.0, 4.0, 4.0, 4.0))})
    cls = [jnp.full_like(cls[0], -200.0)]
    _, scores = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 10, 0.0,
                                         threshold_on="class_probability", classes="all"))
    assert scores.size == 0
    _, scores = _valid(select_candidates(cls, reg, ctr, (8,), 4, 0.5, 10, 0.0))
    assert scores.size == 4


# ------------------------------------------------------------------ selection (fact 11)
def test_released_top1_keeps_zero_size_and_low_scores_and_holds_only_when_empty():
    config = dmtrack_gs_official.get_config().tracker
    associator = TargetAssociator(config)
    associator.initialize([10.0, 10.0, 30.0, 40.0], [0.0])
    boxes = np.array([[50.0, 60.0, 50.0, 90.0], [0.0, 0.0, 5.0, 5.0]])  # a zero-width best
    box, confidence = associator.update(Candidates(boxes, np.array([0.03, 0.01]),
                                                   np.zeros((2, 1))))
    np.testing.assert_array_equal(box, boxes[0])
    assert confidence == pytest.approx(0.03)
    # No target-class candidate (the authors' tracker crashes): the last box, confidence 0.
    box, confidence = associator.update(Candidates.empty())
    np.testing.assert_array_equal(box, boxes[0])
    assert confidence == 0.0
    # Our default top1 drops both (zero width; score below detection_min_score 0.1).
    ours = default_tracker_config()
    ours.selection_mode = "top1"
    associator = TargetAssociator(ours)
    associator.initialize([10.0, 10.0, 30.0, 40.0], [0.0])
    box, confidence = associator.update(Candidates(boxes, np.array([0.03, 0.01]),
                                                   np.zeros((2, 1))))
    np.testing.assert_array_equal(box, [10.0, 10.0, 30.0, 40.0])


def test_gs_config_carries_the_released_values():
    t = dmtrack_gs_official.get_config().tracker
    assert (tuple(t.input_size), t.resize_rule, t.canvas, t.canvas_multiple) == (
        (512, 736), "long_short", "pad", 32)
    assert (t.box_convention, t.clip_template_box, t.clip_candidates) == (
        "pixel_inclusive", True, True)
    assert (t.pre_nms_top_k, t.nms_iou_threshold, t.max_detections) == (1000, 0.5, 100)
    assert (t.candidate_classes, t.candidate_threshold_on, t.candidate_min_score) == (
        "all", "class_probability", 0.0)
    assert (t.selection_mode, t.detection_min_score, t.drop_degenerate_candidates,
            t.absent_confidence) == ("top1", 0.0, False, 0.0)
    check_tracker_config(t)
    # The paper config: the same canvas and resize rule by default.
    d = default_tracker_config()
    assert (d.resize_rule, d.canvas, d.box_convention) == ("long_short", "pad", "continuous")


# ------------------------------------------------------------------ canvas groups, compiles
def test_batched_tracker_groups_by_canvas_and_compiles_once_per_size(caplog):
    from dmtrack_apps.demo import DEFAULT_CHECKPOINT
    from dmtrack_jax.tracking.tracker import BatchedTracker

    if not (DEFAULT_CHECKPOINT / "config.json").exists():
        pytest.skip("the shipped checkpoint checkpoints/tiny is missing")
    tracker = BatchedTracker.from_checkpoint(DEFAULT_CHECKPOINT)  # input_size (128, 160)
    rng = np.random.default_rng(0)
    # 150x100: s = min(160/150, 128/100) -> 160 x 107 -> canvas 160 x 128 (W x H);
    # a 64x90 portrait: s = min(160/90, 128/64) -> 114 x 160 -> canvas 128 x 160.
    videos = [rng.integers(0, 255, (4, 100, 150, 3), dtype=np.uint8),
              rng.integers(0, 255, (4, 90, 64, 3), dtype=np.uint8)]
    boxes = [[40.0, 30.0, 30.0, 25.0], [10.0, 20.0, 20.0, 30.0]]
    with caplog.at_level(logging.INFO, logger="dmtrack_jax.tracking.network"):
        tracker.initialize([v[0] for v in videos], boxes)
        together = [np.stack([r.box for r in tracker.track([v[t] for v in videos])])
                    for t in (1, 2, 3)]
    assert [g.tolist() for g in tracker.canvas_groups] == [[0], [1]]
    assert tracker.network.compiled_sizes == [("detect", 1, 128, 160), ("detect", 1, 160, 128),
                                              ("encode", 1, 128, 160), ("encode", 1, 160, 128)]
    assert sum("compiling the tracker's detect step" in r.message for r in caplog.records) == 2
    with pytest.raises(RuntimeError, match="2 canvas sizes"):
        tracker.kernels  # noqa: B018
    with pytest.raises(ValueError, match="sequence 0: frame 64x90 gives a 128x160 canvas"):
        tracker.track([videos[1][1], videos[1][1]])
    # Each video alone gives the same boxes, and nothing compiles again.
    for b, video in enumerate(videos):
        tracker.initialize([video[0]], [boxes[b]])
        alone = [tracker.track([video[t]])[0].box for t in (1, 2, 3)]
        np.testing.assert_allclose(alone, [box[b] for box in together], atol=1e-4)
    assert len(tracker.network.compiled_sizes) == 4
