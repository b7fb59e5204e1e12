"""The 'reid' mode's fused target cues (issue 20 part 2) on scripted detections, against the
'position' and 'top1' modes.

Look-alikes are what a weak re-id head gives: embeddings with cosine similarity 0.5 to the
target's (plus per-frame noise), scores equal to or above the target's. The reference is the
scripted ground truth. Hand-worked cost and value cases check target_cues.py's formulas.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

from dmtrack_jax.tracking import target_cues
from dmtrack_jax.tracking.config import default_tracker_config


def _scripted():
    """The scene helpers of test_tracking_association.py, loaded by path (pytest runs with
    --import-mode=importlib: the test folder is not on sys.path)."""
    key = "_dmtrack_tracking_tests_scripted"
    if key not in sys.modules:
        path = pathlib.Path(__file__).with_name("test_tracking_association.py")
        spec = importlib.util.spec_from_file_location(key, path)
        sys.modules[key] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[key])
    return sys.modules[key]


_s = _scripted()
DIM, box, config_with, embedding_pair = _s.DIM, _s.box, _s.config_with, _s.embedding_pair
iou_per_frame, make_frames, run, unit = _s.iou_per_frame, _s.make_frames, _s.run, _s.unit


def on(boxes, truth, frames):
    """Share of `frames` where the reported box overlaps the truth with IoU > 0.5."""
    frames = list(frames)
    return float(np.mean(iou_per_frame(boxes[frames], np.array([truth(t) for t in frames]))
                         > 0.5))


def test_fused_is_the_default_reid_association():
    assert default_tracker_config().target_association == "fused"


def test_camera_cut_reid_keeps_the_target_position_takes_the_lookalike():
    """Everything jumps at frame 30: the look-alike B lands where the target A was, A lands
    250 px away. Nearest-to-the-last-box follows B; the fused cues reject B (it does not look
    like A and is outside B's own old gate too) and re-detect A by appearance and score."""
    rng = np.random.default_rng(10)
    emb_a, emb_b = embedding_pair(rng, 0.5)
    _, emb_c = embedding_pair(rng, 0.5)
    cut = 30

    def a(t):
        return box(150 + t, 120) if t < cut else box(400 + t, 300)

    def b(t):
        return box(420 - t, 300) if t < cut else box(150 + t, 120)

    def c(t):
        return box(300, 420) if t < cut else box(60, 420)

    frames = make_frames([(a, lambda t: 0.7, lambda t: emb_a), (b, lambda t: 0.75,
                                                               lambda t: emb_b),
                          (c, lambda t: 0.7, lambda t: emb_c)], 60, rng)
    after = range(cut, 60)
    reid, conf, _ = run(config_with(selection_mode="reid"), a(0), emb_a, frames)
    position, _, _ = run(config_with(selection_mode="position"), a(0), emb_a, frames)
    top1, _, _ = run(config_with(selection_mode="top1"), a(0), emb_a, frames)
    assert on(reid, a, range(60)) == 1.0
    assert np.all(conf[1:] >= default_tracker_config().absent_confidence)
    assert on(position, b, after) == 1.0 and on(position, a, after) == 0.0
    assert on(top1, b, range(1, 60)) == 1.0  # B scores higher: the released rule takes it


def test_far_reentry_after_50_absent_frames():
    """A leaves at frame 30 and comes back at frame 80, 300 px from its exit; a higher-scoring
    look-alike B stands next to the exit the whole time. 'position' reports B as the target
    through the absence and stays on it; 'reid' says absent, then re-detects A at once."""
    rng = np.random.default_rng(11)
    emb_a, emb_b = embedding_pair(rng, 0.5)

    def a(t):
        if 30 <= t < 80:
            return None
        return box(100 + 2 * t, 150) if t < 30 else box(460 + 2 * (t - 80), 350)

    frames = make_frames([(a, lambda t: 0.7, lambda t: emb_a),
                          (lambda t: box(210, 150), lambda t: 0.8, lambda t: emb_b)], 100, rng)
    absent_confidence = default_tracker_config().absent_confidence
    reid, conf, _ = run(config_with(selection_mode="reid"), a(0), emb_a, frames)
    position, conf_p, _ = run(config_with(selection_mode="position"), a(0), emb_a, frames)
    present = [t for t in range(100) if a(t) is not None]
    assert on(reid, a, present) == 1.0
    assert np.all(conf[30:80] < absent_confidence)  # absence reported, every frame
    np.testing.assert_array_equal(reid[30:80], np.repeat(a(29)[None], 50, 0))  # box held
    assert np.all(conf[80:] >= absent_confidence)
    assert np.all(conf_p[30:80] >= absent_confidence)  # position: "present" on B
    assert on(position, lambda t: box(210, 150), range(30, 100)) == 1.0


def test_smooth_lookalike_passing_close_reid_never_worse_than_position():
    """A and a brighter look-alike B (similarity 0.8: a weak embedding) pass each other in
    neighbouring lanes 50 px apart, with smooth motion; both modes must stay on A."""
    rng = np.random.default_rng(12)
    emb_a, emb_b = embedding_pair(rng, 0.8)

    def a(t):
        return box(100 + 3 * t, 200)

    def b(t):
        return box(280 - 3 * t, 250)

    frames = make_frames([(a, lambda t: 0.7, lambda t: emb_a), (b, lambda t: 0.85,
                                                               lambda t: emb_b)], 60, rng)
    reid, _, _ = run(config_with(selection_mode="reid"), a(0), emb_a, frames)
    position, _, _ = run(config_with(selection_mode="position"), a(0), emb_a, frames)
    assert on(position, a, range(60)) == 1.0
    assert on(reid, a, range(60)) == 1.0
    assert np.all(iou_per_frame(reid, np.array([a(t) for t in range(60)])) > 0.9)


def test_target_cost_by_hand():
    config = config_with(target_appearance_weight=1.0, target_motion_weight=0.5,
                         target_iou_weight=0.5, target_score_weight=2.0)
    gate = config.motion_gate_threshold
    predicted = box(100, 100)
    boxes = np.stack([box(100, 100), box(120, 100), box(300, 100)])  # IoU 1, 1/3, 0
    similarity = np.array([0.9, 0.5, 1.0])
    gating = np.array([0.0, gate / 2, gate + 1])
    scores = target_cues.relative_scores([0.4, 0.8, 0.8])
    cost = target_cues.target_cost(config, similarity, gating, predicted, boxes, scores, True)
    # 0: 1 x 0.1 + 0 + 0 + 2 x (1 - 0.5) = 1.1; 1: 0.5 + 0.25 + 0.5 x 2/3 + 0 = 1.0833..
    np.testing.assert_allclose(cost[:2], [1.1, 0.5 + 0.25 + 0.5 * (2 / 3)], rtol=1e-12)
    assert cost[2] == np.inf  # outside the gate, whatever it looks like
    no_appearance = target_cues.target_cost(config, similarity, gating, predicted, boxes,
                                            scores, False)
    np.testing.assert_allclose(no_appearance[:2], [1.0, 0.25 + 0.5 * (2 / 3)], rtol=1e-12)


def test_redetection_value_and_confidence_by_hand():
    config = config_with(redetect_score_weight=0.25, redetect_position_weight=0.5,
                         confidence_appearance_power=2.0)
    last = box(100, 100, 40, 40)  # size 40
    boxes = np.stack([box(100, 100, 40, 40), box(180, 100, 40, 40)])  # 0 and 80 px away
    value = target_cues.redetection_value(config, np.array([0.6, 0.9]), np.array([1.0, 0.5]),
                                          boxes, last, frames_lost=1, has_appearance=True)
    # 0.75 sim + 0.25 score + 0.5 exp(-d / (40 x 2))
    np.testing.assert_allclose(value, [0.75 * 0.6 + 0.25 + 0.5,
                                       0.75 * 0.9 + 0.125 + 0.5 * np.exp(-1.0)], rtol=1e-12)
    assert target_cues.fused_confidence(config, 0.8, 0.5, True) == pytest.approx(0.2)
    assert target_cues.fused_confidence(config, 0.8, -0.3, True) == 0.0
    assert target_cues.fused_confidence(config, 0.8, 0.5, False) == 0.8
    np.testing.assert_array_equal(target_cues.relative_scores([0.0, 0.0]), [0.0, 0.0])
    sims = target_cues.appearance_similarity(np.stack([unit(np.eye(DIM)[0]), unit(np.eye(DIM)[1])]),
                                             np.stack([unit(np.eye(DIM)[1] + np.eye(DIM)[2])]))
    np.testing.assert_allclose(sims, [1 / np.sqrt(2)], rtol=1e-12)


def test_bad_fused_fields_are_refused():
    from dmtrack_jax.tracking.config import check_tracker_config

    for field, value in (("target_association", "joint"), ("target_score_weight", -1.0),
                         ("redetect_score_weight", 1.5)):
        config = config_with(**{field: value})
        with pytest.raises(ValueError, match=f"config.tracker.{field}="):
            check_tracker_config(config)


@pytest.mark.parametrize("association", ["fused", "fairmot"])
def test_reid_ignores_zero_size_candidates_even_when_the_config_keeps_them(association):
    """The released (GS) config keeps zero-size candidates for 'top1'; in 'reid' a zero height
    would give the Kalman state a NaN aspect ratio (scipy's assignment then raised)."""
    config = config_with(selection_mode="reid", drop_degenerate_candidates=False,
                         detection_min_score=0.0, target_association=association)
    from dmtrack_jax.tracking.association import Candidates, TargetAssociator

    associator = TargetAssociator(config)
    associator.initialize([10.0, 10.0, 50.0, 60.0], np.zeros(1))
    for boxes in ([[5.0, 5.0, 9.0, 5.0]], [[5.0, 5.0, 9.0, 5.0], [11.0, 10.0, 51.0, 60.0]]):
        out, conf = associator.update(Candidates(np.array(boxes), np.full(len(boxes), 0.5),
                                                 np.zeros((len(boxes), 1))))
    np.testing.assert_array_equal(out, [11.0, 10.0, 51.0, 60.0])
    assert conf == 0.5
    top1 = TargetAssociator(config_with(selection_mode="top1", drop_degenerate_candidates=False,
                                        detection_min_score=0.0))
    top1.initialize([10.0, 10.0, 50.0, 60.0], np.zeros(1))
    out, _ = top1.update(Candidates(np.array([[5.0, 5.0, 9.0, 5.0]]), [0.5], np.zeros((1, 1))))
    np.testing.assert_array_equal(out, [5.0, 5.0, 9.0, 5.0])  # released behaviour kept
