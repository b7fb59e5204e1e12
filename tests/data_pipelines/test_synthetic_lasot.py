"""The `lasot-like` generator preset (issue 20 part 1): LaSOT's statistics, kept hard cases.

The statistics (`data_pipelines.track_statistics`, the same function for real and synthetic
annotations), pooled over all pairs of consecutive frames where the target is present:
  motion        |c_t - c_{t-1}| / sqrt(w_{t-1} h_{t-1}), c the box centre; p50/p90/p99/p99.9
  jumps         pairs with motion > 1, per 1000 pairs
  absent        absent frames (flagged, or no positive finite box) / all frames
  periods       maximal runs of absent frames per 1000 frames; their lengths p50/p90/p99
  scale ratio   sqrt(w_t h_t / (w_{t-1} h_{t-1})); p1/p99
On LaSOT's 280 test sequences (the real annotations) this function gives the issue's column:
0.0227/0.1474/0.7715/1.6887, 5.66, 2.68 %, 1.34, 6/46/214, 0.8795/1.1339.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from data_pipelines import synthetic
from data_pipelines.synthetic_lasot import target_annotations
from data_pipelines.track_statistics import absence_runs, track_statistics
from dmtrack_apps.cli import main

# Issue 20's table, LaSOT test column (280 sequences, 685,360 frames), copied here on purpose.
LASOT = {
    "motion_p50": 0.023, "motion_p90": 0.147, "motion_p99": 0.77, "motion_p999": 1.69,
    "jumps_per_1000": 5.7, "absent_fraction": 0.026, "absence_periods_per_1000": 1.3,
    "absence_length_p50": 6, "absence_length_p90": 46, "absence_length_p99": 214,
    "scale_ratio_p1": 0.88, "scale_ratio_p99": 1.13,
}
FACTOR = 1.5
SIZE = (128, 160)  # the tiny model's input, as in the demo
FRAMES = 1000
SEQUENCES = 200  # ~260 absence periods: enough for their p99 (the tails need hundreds)


def test_statistics_of_a_hand_made_annotation():
    # 6 frames, a 10x10 box (size 10); frame 3 absent by flag, frame 4 by an empty box.
    boxes = np.array([[0, 0, 10, 10], [3, 4, 10, 10], [3, 4, 20, 5], [0, 0, 0, 0],
                      [9, 9, 0, 0], [50, 50, 10, 10]], dtype=float)
    absent = np.array([False, False, False, True, False, False])
    s = track_statistics([(boxes, absent)])
    # Present pairs: (0,1): centre (5,5)->(8,9): 5/10 = 0.5, ratio 1;
    # (1,2): centre (8,9)->(13,6.5): |(5,-2.5)| / 10, ratio sqrt(100/100) = 1.
    motions = np.array([0.5, np.hypot(5, -2.5) / 10])
    assert s["motion_p50"] == pytest.approx(np.percentile(motions, 50))
    assert s["motion_p999"] == pytest.approx(np.percentile(motions, 99.9))
    assert s["jumps_per_1000"] == 0.0
    assert s["absent_fraction"] == pytest.approx(2 / 6)
    assert s["absence_periods_per_1000"] == pytest.approx(1000 / 6)  # one run of frames 3-4
    assert s["absence_length_p50"] == 2
    assert s["scale_ratio_p1"] == s["scale_ratio_p99"] == 1.0
    # A jump: one pair moving 2 box sizes among 2 pairs -> 500 per 1000 pairs.
    jump = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [20, 0, 10, 10]], dtype=float)
    assert track_statistics([(jump, np.zeros(3, bool))])["jumps_per_1000"] == 500.0
    np.testing.assert_array_equal(absence_runs(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)),
                                  [2, 1, 3])


@pytest.fixture(scope="module")
def planned():
    """The target's annotations of SEQUENCES planned (not rendered) lasot-like videos."""
    scenes = [synthetic.plan_scene(synthetic.sequence_seed(77, i), FRAMES, SIZE, 3,
                                   preset="lasot-like") for i in range(SEQUENCES)]
    return scenes, [target_annotations(scene) for scene in scenes]


def _within(value: float, reference: float, factor: float = FACTOR) -> bool:
    return reference / factor <= value <= reference * factor


def test_lasot_like_statistics_match_lasot_within_a_factor_of_1_5(planned):
    _, annotations = planned
    s = track_statistics(annotations)
    misses = {}
    for key, reference in LASOT.items():
        value = s[key]
        if key.startswith("scale_ratio"):
            # A ratio near 1 is within 1.5x of anything near 1: compare the change instead.
            ok = _within(abs(value - 1), abs(reference - 1)) and _within(value, reference)
        else:
            ok = _within(value, reference)
        if not ok:
            misses[key] = (value, reference)
    assert not misses, misses
    # Not every video is absent somewhere in LaSOT (165 of 280), but most are; ours all are.
    assert s["sequences_with_absence"] >= 0.5 * SEQUENCES


@pytest.mark.parametrize("preset, count, frames, seed",
                         [("lasot-like", 3, 600, 5), ("default", 12, 60, 4)])
def test_planned_annotations_are_the_rendered_ones(preset, count, frames, seed):
    """The statistics come from the plan; rendering gives the same boxes and absent flags
    (the default preset's distractors drawn in front of the target hide it whole at times:
    the plan-based function must see that too)."""
    hidden_by_objects = 0
    for video in synthetic.iter_dataset(count, frames, seed, SIZE, 3, preset=preset):
        boxes, absent = target_annotations(video.scene)
        np.testing.assert_array_equal(absent, video.target_absent)
        np.testing.assert_array_equal(boxes, video.boxes[:, 0])  # NaN where absent
        assert len(video.frames) == frames
        occluded = video.full_occlusion & (video.scene.occluder_boxes[:, 0, 2] == 0)
        hidden_by_objects += int(occluded.sum())
    if preset == "default":
        assert hidden_by_objects > 0  # the case is exercised (5 frames with seed 4)


def test_lasot_like_keeps_crossings_far_reentries_and_cuts(planned):
    scenes, annotations = planned
    crossings = reentries = far_reentries = cuts = 0
    for scene, (boxes, absent) in zip(scenes[:60], annotations[:60]):
        full = scene.object_boxes.astype(float)
        centres = full[..., :2] + full[..., 2:] / 2
        size = np.sqrt(full[..., 2] * full[..., 3])
        # Distractor 1 passes within a quarter box size of the target's centre (a crossing).
        close = np.linalg.norm(centres[:, 1] - centres[:, 0], axis=1) < 0.25 * size[:, 0]
        crossings += int(np.sum(close[1:] & ~close[:-1]))
        # Out-of-view periods: the target comes back far from where it left.
        height, width = scene.image_size
        for start, length in zip(np.flatnonzero(np.diff(np.r_[0, absent.astype(int)]) == 1),
                                 absence_runs(absent)):
            end = start + length
            if start == 0 or end >= len(absent):
                continue
            outside = full[start:end, 0]
            if not np.any((outside[:, 0] + outside[:, 2] <= 0) | (outside[:, 0] >= width)
                          | (outside[:, 1] + outside[:, 3] <= 0) | (outside[:, 1] >= height)):
                continue  # an occluder pass, not an out-of-view period
            reentries += 1
            gap = np.linalg.norm(centres[end, 0] - centres[start - 1, 0])
            far_reentries += gap >= 0.4 * np.hypot(height, width)
        # Camera cuts: the view jumps and every object present on both sides jumps with it.
        for t in np.flatnonzero(np.any(np.diff(scene.shake, axis=0) != 0, axis=1)) + 1:
            cuts += 1
            jump = np.linalg.norm(centres[t] - centres[t - 1], axis=1) / size[t - 1]
            assert jump[0] >= 1.0, (t, jump)  # the target moves more than its size
            assert np.all(jump[1:] > 0)  # everything else moves too
            assert np.abs(scene.shake[t] - scene.shake[t - 1]).max() >= scene.margin // 2
    assert crossings >= 60 * FRAMES / 400  # about one every cross_period (150-320) frames
    assert reentries >= 20 and far_reentries >= 0.9 * reentries
    assert cuts >= 20  # 0.8 per 1000 frames -> ~48 expected


def test_presets_are_explicit_and_checked():
    default = synthetic.generate_sequence(3, 30, (64, 80), 2)
    explicit = synthetic.generate_sequence(3, 30, (64, 80), 2, preset="default")
    np.testing.assert_array_equal(default.frames, explicit.frames)
    lasot_like = synthetic.generate_sequence(3, 30, (64, 80), 2, preset="lasot-like")
    assert not np.array_equal(default.frames, lasot_like.frames)
    with pytest.raises(ValueError, match="unknown preset"):
        synthetic.plan_scene(3, 30, (64, 80), 2, preset="lasot")
    with pytest.raises(ValueError, match="unknown preset"):
        next(synthetic.iter_dataset(1, 30, 3, preset="nope"))


def test_synth_cli_writes_the_lasot_like_preset(tmp_path):
    from data_pipelines import datasets

    out = tmp_path / "lasot"
    assert main(["synth", "--out", str(out), "--format", "lasot", "--sequences", "1",
                 "--frames", "600", "--seed", "4", "--height", "128", "--width", "160",
                 "--preset", "lasot-like"]) == 0
    [sequence] = datasets.read_dataset("lasot", str(out))
    [video] = synthetic.iter_dataset(1, 600, 4, (128, 160), 3, preset="lasot-like")
    np.testing.assert_array_equal(sequence.absent, video.target_absent)
    np.testing.assert_array_equal(sequence.boxes[~sequence.absent],
                                  video.boxes[~video.target_absent, 0])


@pytest.mark.skipif(not os.environ.get("DMTRACK_LASOT_ANNOTATIONS_ROOT"),
                    reason="set DMTRACK_LASOT_ANNOTATIONS_ROOT to a LaSOT annotations root (see "
                           "benchmarks/lasot_annotations_root.py) to check the definitions on "
                           "the real 280 test sequences")
def test_the_statistics_reproduce_the_lasot_column_on_the_real_annotations():
    """Opt-in: the definitions are the issue's, because on LaSOT's real test annotations they
    give its column (to the digits the issue printed; its 2.6 % absent is 2.68 % truncated)."""
    from data_pipelines import datasets

    root = os.environ["DMTRACK_LASOT_ANNOTATIONS_ROOT"]
    sequences = datasets.read_dataset("lasot", root, "test", with_frames=False)
    s = track_statistics([(q.boxes, q.absent) for q in sequences])
    assert s["frames"] == 685_360 and s["sequences_with_absence"] == 165
    for key, reference in LASOT.items():
        digits = len(str(reference).split(".")[1]) if "." in str(reference) else 0
        tolerance = 0.5 * 10.0 ** -digits + (0.001 if key == "absent_fraction" else 0)
        assert abs(s[key] - reference) <= tolerance, (key, s[key], reference)
