"""K targets in one video: one backbone pass per frame, each target its own association.

The network test runs the shipped tiny checkpoint (checkpoints/tiny); the identity test is
association-level, on scripted detections (no network)."""

import numpy as np
import pytest

from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_jax.tracking.association import Candidates, MultiTargetAssociator
from dmtrack_jax.tracking.config import default_tracker_config
from dmtrack_jax.tracking.tracker import Tracker, TrackResult


def _video(frames=5):
    from data_pipelines.synthetic import iter_dataset

    [video] = list(iter_dataset(1, frames, 11, (96, 128), 3))
    # Three targets: the video's target and two of its look-alike distractors (finite boxes).
    first = video.boxes[0]
    keep = [i for i in range(len(first)) if np.all(np.isfinite(first[i]))][:3]
    return video, first[keep]


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                    reason="the shipped checkpoint checkpoints/tiny is missing")
def test_k_targets_equal_k_single_target_runs_in_top1():
    video, boxes = _video()
    assert len(boxes) == 3
    tracker = Tracker.from_checkpoint(DEFAULT_CHECKPOINT, input_size=(96, 128),
                                      selection_mode="top1")
    tracker.initialize(video.frames[0], boxes)
    assert tracker.num_targets == 3
    together = [tracker.track(f) for f in video.frames[1:]]
    # One detect executable, for 1 canvas with 3 targets: the backbone ran once per frame.
    assert [s for s in tracker._batched.network.compiled_sizes if s[0] == "detect"] == \
        [("detect", 1, 96, 128, 3)]
    for k, box in enumerate(boxes):
        tracker.initialize(video.frames[0], box)  # a (4,) box: one target, one result
        alone = [tracker.track(f) for f in video.frames[1:]]
        assert all(isinstance(r, TrackResult) for r in alone)
        for t, (many, one) in enumerate(zip(together, alone)):
            assert len(many) == 3
            np.testing.assert_allclose(many[k].box, one.box, atol=1e-3, err_msg=f"{k} {t}")
            assert abs(many[k].confidence - one.confidence) < 1e-5
    # The targets are tracked apart: not all K results are the same box.
    assert len({tuple(np.round(r.box, 1)) for r in together[0]}) > 1


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                    reason="the shipped checkpoint checkpoints/tiny is missing")
def test_batched_tracker_runs_b_sequences_of_k_targets_like_each_alone():
    from data_pipelines.synthetic import iter_dataset

    videos = list(iter_dataset(2, 3, 12, (96, 128), 3))
    boxes = np.stack([v.boxes[0][:2] for v in videos])  # (B=2, K=2, 4)
    assert np.all(np.isfinite(boxes))
    tracker = Tracker.from_checkpoint(DEFAULT_CHECKPOINT, input_size=(96, 128))
    batched = tracker._batched  # the same class BatchedTracker, reusing the built model
    batched.initialize([v.frames[0] for v in videos], boxes)
    assert batched.num_targets == 2
    together = [batched.track([v.frames[t] for v in videos]) for t in (1, 2)]
    assert ("detect", 2, 96, 128, 2) in batched.network.compiled_sizes
    for b, video in enumerate(videos):
        tracker.initialize(video.frames[0], boxes[b])
        for t in (1, 2):
            alone = tracker.track(video.frames[t])
            for k in range(2):
                np.testing.assert_allclose(together[t - 1][b][k].box, alone[k].box, atol=1e-3)
                assert abs(together[t - 1][b][k].confidence - alone[k].confidence) < 1e-5
    with pytest.raises(ValueError, match="same number of targets"):
        batched.initialize([v.frames[0] for v in videos], [boxes[0], boxes[1][:1]])


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                    reason="the shipped checkpoint checkpoints/tiny is missing")
def test_bad_multi_target_boxes_give_one_line_errors():
    video, boxes = _video(2)
    tracker = Tracker.from_checkpoint(DEFAULT_CHECKPOINT, input_size=(96, 128))
    bad = boxes.copy()
    bad[1, 2] = 0.0
    with pytest.raises(ValueError, match="target 1: the initial box .* zero or negative size"):
        tracker.initialize(video.frames[0], bad)
    with pytest.raises(ValueError, match=r"expected boxes \(K, 4\)"):
        tracker.initialize(video.frames[0], np.zeros((2, 3)))


# ----------------------------------------------------------------------- association level
DIM = 8


def _box(cx, cy, w=40.0, h=40.0):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def _crossing(n=40, occluded=range(18, 23), other=0.85):
    """Two look-alikes (same embedding) crossing horizontally at y = 100: A moves right from
    x = 60, B left from x = 340, 7 px a frame; they meet around frame 20, where only the
    front one (A) is detected for `occluded` frames. Each target's head sees both objects,
    its own at 0.9 and the other at `other` (a trained head scores its own target higher)."""
    emb = np.zeros(DIM)
    emb[0] = 1.0
    a = [_box(60 + 7 * t, 100) for t in range(n)]
    b = [_box(340 - 7 * t, 100) for t in range(n)]
    frames = []
    for t in range(n):
        if t in occluded:
            per_target = [Candidates(a[t][None], [0.9], emb[None]),
                          Candidates(a[t][None], [other], emb[None])]
        else:
            both, embs = np.stack([a[t], b[t]]), np.stack([emb, emb])
            per_target = [Candidates(both, [0.9, other], embs),
                          Candidates(both, [other, 0.9], embs)]
        frames.append(per_target)
    return np.stack(a), np.stack(b), emb, frames


def _iou(p, q):
    w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = w * h
    return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)


def test_crossing_look_alikes_keep_their_identities_in_reid():
    a, b, emb, frames = _crossing()
    config = default_tracker_config()
    assert config.selection_mode == "reid"
    associator = MultiTargetAssociator(config, 2)
    associator.initialize(np.stack([a[0], b[0]]), np.stack([emb, emb]))
    for t in range(1, len(frames)):
        boxes, confidences = associator.update(frames[t])
        claimed = [c > 0 and c >= config.absent_confidence for c in confidences]
        if t < 18 or t >= 23:
            # Both visible: each target is on its own object, never on the other.
            assert claimed == [True, True], (t, confidences)
            assert _iou(boxes[0], a[t]) > 0.9 and _iou(boxes[1], b[t]) > 0.9, (t, boxes)
        else:
            # One detection for two targets: never both on it.
            assert not (claimed[0] and claimed[1] and _iou(boxes[0], boxes[1]) > 0.5), t
    # After the crossing, A is right of B again: the identities were not swapped.
    assert boxes[0][0] > boxes[1][0]


def test_a_claimed_candidate_is_a_distractor_for_the_other_target():
    """B's head scores A at 0.3: above `detection_min_score` and `absent_confidence`, below
    `new_track_score_threshold`, so B's own association never holds a distractor tracklet
    for A. Tracked alone, B then takes A's box while A hides B (and follows A afterwards:
    identity switch); tracked together, A's claim bars that box for B, which is absent while
    hidden and re-detected on its own object after."""
    a, b, emb, frames = _crossing(n=35, occluded=range(18, 23), other=0.3)
    config = default_tracker_config()
    together = MultiTargetAssociator(config, 2)
    together.initialize(np.stack([a[0], b[0]]), np.stack([emb, emb]))
    independent = [MultiTargetAssociator(config, 1) for _ in range(2)]
    for k, start in enumerate((a[0], b[0])):
        independent[k].initialize(start[None], emb[None])
    both_on_one = {"together": 0, "independent": 0}
    for t in range(1, 35):
        boxes, conf = together.update(frames[t])
        if t in range(18, 23) and min(conf) > 0 and _iou(boxes[0], boxes[1]) > 0.5:
            both_on_one["together"] += 1
        solo = [independent[k].update([frames[t][k]]) for k in range(2)]
        if t in range(18, 23) and min(s[1][0] for s in solo) > 0 \
                and _iou(solo[0][0][0], solo[1][0][0]) > 0.5:
            both_on_one["independent"] += 1
    assert both_on_one == {"together": 0, "independent": 5}
    # Last frame: together, B is on its own object; alone, B's tracker followed A.
    assert _iou(boxes[1], b[34]) > 0.9 and conf[1] == 0.9
    assert _iou(solo[1][0][0], a[34]) > 0.9


def test_multi_target_associator_errors():
    associator = MultiTargetAssociator(default_tracker_config(), 2)
    with pytest.raises(ValueError, match=r"expected 2 initial target boxes \(K, 4\)"):
        associator.initialize(np.ones((3, 4)), np.ones((3, 1)))
    associator.initialize(np.stack([_box(50, 50), _box(150, 50)]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="got 1 candidate sets for 2 targets"):
        associator.update([Candidates.empty()])
