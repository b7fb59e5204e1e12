"""Scripted detections (no network) through the three selection modes.

Each scenario is a list of per-frame candidate sets built from object trajectories; the
reference is the scripted ground truth itself (which object is the target, where it is).
"""

from __future__ import annotations

import numpy as np
import pytest

from dmtrack_jax.tracking.association import BatchedAssociator, Candidates, TargetAssociator
from dmtrack_jax.tracking.config import default_tracker_config
from dmtrack_jax.tracking.matching import iou_matrix

DIM = 16


def unit(v):
    return v / np.linalg.norm(v)


def embedding_pair(rng, similarity):
    """Two unit vectors with the given cosine similarity (look-alikes for the re-id head)."""
    a = unit(rng.normal(size=DIM))
    r = rng.normal(size=DIM)
    r = unit(r - (r @ a) * a)
    return a, similarity * a + np.sqrt(1 - similarity**2) * r


def box(cx, cy, w=40.0, h=80.0):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def make_frames(objects, n_frames, rng, noise=0.05):
    """objects: list of (box_fn(t) -> box or None, score_fn(t), embedding_fn(t)).
    Frame 0 is the initialisation frame; candidate sets are built for frames 1..n-1."""
    frames = []
    for t in range(1, n_frames):
        boxes, scores, embs = [], [], []
        for box_fn, score_fn, emb_fn in objects:
            b = box_fn(t)
            if b is None:
                continue
            boxes.append(b)
            scores.append(score_fn(t))
            embs.append(unit(emb_fn(t) + noise * rng.normal(size=DIM)))
        order = rng.permutation(len(boxes))
        frames.append(Candidates(np.array(boxes).reshape(-1, 4)[order],
                                 np.array(scores)[order],
                                 np.array(embs).reshape(-1, DIM)[order]))
    return frames


def run(config, init_box, init_embedding, frames):
    associator = TargetAssociator(config)
    associator.initialize(init_box, init_embedding)
    boxes, confidences = [np.asarray(init_box, float)], [1.0]
    for candidates in frames:
        b, c = associator.update(candidates)
        boxes.append(b)
        confidences.append(c)
    return np.array(boxes), np.array(confidences), associator


def config_with(**overrides):
    config = default_tracker_config()
    config.update(overrides)
    return config


def iou_per_frame(a, b):
    return np.diag(iou_matrix(a, b))


def without_appearance(frames):
    return [Candidates(f.boxes, f.scores, np.zeros((len(f), 1))) for f in frames]


# --------------------------------------------------------------------------- scenarios
def crossing_scene(n=45, seed=0):
    """Target A and look-alike B walk towards each other, overlap fully at t=20, and both turn
    back: a constant-velocity motion model predicts they pass, so only appearance says who is
    who after the turn."""
    rng = np.random.default_rng(seed)
    emb_a, emb_b = embedding_pair(rng, 0.5)
    a = lambda t: box(120 + 4 * min(t, 20) - 4 * max(t - 20, 0), 100)  # noqa: E731
    b = lambda t: box(280 - 4 * min(t, 20) + 4 * max(t - 20, 0), 100)  # noqa: E731
    frames = make_frames([(a, lambda t: 0.8, lambda t: emb_a),
                          (b, lambda t: 0.8, lambda t: emb_b)], n, rng)
    truth_a = np.array([a(t) for t in range(n)])
    truth_b = np.array([b(t) for t in range(n)])
    return frames, truth_a, truth_b, emb_a


def occlusion_scene(jump, n=50, hidden=range(15, 35), ambiguous_return=False, seed=1):
    """A moves slowly, is hidden for 20 frames, returns `jump` pixels away; B is a static
    look-alike scoring higher. With `ambiguous_return`, A's first frame back has an unrelated
    embedding (a tracklet is born for it before it can be recognised)."""
    rng = np.random.default_rng(seed)
    emb_a, emb_b = embedding_pair(rng, 0.5)
    stranger = unit(rng.normal(size=DIM))
    back = hidden.stop

    def a(t):
        if t in hidden:
            return None
        return box(100 + 2 * t + (jump if t >= back else 0), 150 + (jump / 2 if t >= back else 0))

    def a_emb(t):
        return stranger if ambiguous_return and t == back else emb_a

    frames = make_frames([(a, lambda t: 0.8, a_emb),
                          (lambda t: box(500, 150), lambda t: 0.9, lambda t: emb_b)], n, rng)
    return frames, a, emb_a


def test_crossing_lookalikes_keep_identity_through_embeddings():
    frames, truth_a, truth_b, emb_a = crossing_scene()
    boxes, conf, associator = run(default_tracker_config(), truth_a[0], emb_a, frames)
    assert np.all(iou_per_frame(boxes, truth_a) > 0.7)
    assert np.all(conf >= 0.8 - 1e-12)
    assert associator.target_id == 1 and 1 in associator.tracklet_ids
    # Control: the same scene without embeddings follows the motion model through the turn
    # and ends on B, so it is the appearance that kept the identity above.
    boxes_motion, _, _ = run(default_tracker_config(), truth_a[0], np.zeros(1),
                             without_appearance(frames))
    assert iou_per_frame(boxes_motion[-5:], truth_b[-5:]).min() > 0.7


@pytest.mark.parametrize("jump", [0.0, 200.0])
def test_occluded_for_20_frames_then_redetected_with_same_identity(jump):
    frames, a, emb_a = occlusion_scene(jump)
    boxes, conf, associator = run(default_tracker_config(), a(0), emb_a, frames)
    absent = default_tracker_config().absent_confidence
    visible = [t for t in range(1, 50) if a(t) is not None]
    hidden = [t for t in range(1, 50) if a(t) is None]
    truth = np.array([a(t) for t in visible])
    assert np.all(iou_per_frame(boxes[visible], truth) > 0.9)
    assert np.all(conf[visible] >= absent)
    assert np.all(conf[hidden] < absent)
    np.testing.assert_array_equal(boxes[hidden], np.repeat(a(14)[None], len(hidden), 0))
    assert associator.target_id == 1
    # The look-alike kept its own single tracklet the whole time.
    assert len(associator.tracklet_ids) == 2
    np.testing.assert_allclose(associator.distractor_boxes(), [box(500, 150)])
    # Which mechanism found it: a small jump stays inside the lost tracklet's motion gate
    # (stage 1); a 200-pixel jump does not, and only appearance re-detection brings it back.
    _, conf_no_redetect, _ = run(config_with(redetect_similarity_threshold=1.01,
                                             redetect_threshold=10.0), a(0), emb_a,
                                 frames)
    if jump == 0.0:
        assert np.all(conf_no_redetect[35:] >= absent)
    else:
        assert np.all(conf_no_redetect[35:] < absent)


def test_return_with_ambiguous_first_frame_is_absorbed_only_when_enabled():
    frames, a, emb_a = occlusion_scene(200.0, ambiguous_return=True)
    absent = default_tracker_config().absent_confidence
    boxes, conf, associator = run(default_tracker_config(), a(0), emb_a, frames)
    assert conf[35] < absent  # unrecognisable: a new tracklet is born for it
    truth = np.array([a(t) for t in range(36, 50)])
    assert np.all(conf[36:] >= absent)
    assert np.all(iou_per_frame(boxes[36:], truth) > 0.9)
    assert associator.target_id == 1 and len(associator.tracklet_ids) == 2  # absorbed
    _, conf_off, _ = run(config_with(redetect_from_new_tracklets=False), a(0), emb_a, frames)
    # Without absorption the newborn tracklet holds the target's detections until the lost
    # target's growing motion gate admits them again through stage 1: several frames later.
    assert np.all(conf_off[36:41] < absent)


@pytest.mark.parametrize("mode", ["reid", "top1", "position"])
def test_target_leaves_frame_confidence_drops_and_box_is_held(mode):
    rng = np.random.default_rng(2)
    emb_a, emb_b = embedding_pair(rng, 0.5)
    width = 320.0
    a = lambda t: box(200 + 6 * t, 100) if 200 + 6 * t + 20 <= width else None  # noqa: E731
    objects = [(a, lambda t: 0.8, lambda t: emb_a)]
    if mode == "reid":  # a look-alike stays in view; it must not be taken for the target
        objects.append((lambda t: box(60, 250), lambda t: 0.9, lambda t: emb_b))
    frames = make_frames(objects, 40, rng)
    boxes, conf, _ = run(config_with(selection_mode=mode), a(0), emb_a, frames)
    last_seen = max(t for t in range(40) if a(t) is not None)
    absent = default_tracker_config().absent_confidence
    assert np.all(conf[: last_seen + 1] >= absent)
    assert np.all(conf[last_seen + 1:] < absent)
    np.testing.assert_array_equal(boxes[last_seen + 1:],
                                  np.repeat(a(last_seen)[None], 40 - last_seen - 1, 0))


def test_higher_scoring_distractor_reid_keeps_target_top1_drifts():
    rng = np.random.default_rng(3)
    emb_a, emb_b = embedding_pair(rng, 0.3)
    a = lambda t: box(100 + 3 * t, 100)  # noqa: E731
    b = lambda t: box(300 - t, 300)  # noqa: E731
    b_score = lambda t: 0.4 if t % 5 == 0 else 0.9  # noqa: E731  higher in 80% of frames
    frames = make_frames([(a, lambda t: 0.6, lambda t: emb_a), (b, b_score, lambda t: emb_b)],
                         40, rng)
    truth_a = np.array([a(t) for t in range(40)])
    truth_b = np.array([b(t) for t in range(40)])
    reid, _, _ = run(config_with(selection_mode="reid"), truth_a[0], emb_a, frames)
    top1, _, _ = run(config_with(selection_mode="top1"), truth_a[0], emb_a, frames)
    assert np.all(iou_per_frame(reid, truth_a) > 0.9)
    on_b = iou_per_frame(top1[1:], truth_b[1:]) > 0.9
    assert on_b.mean() >= 0.75
    # 'position' (nearest to the last box among the top 5) also resists here: B is far away.
    position, _, _ = run(config_with(selection_mode="position"), truth_a[0], emb_a, frames)
    assert np.all(iou_per_frame(position, truth_a) > 0.9)


def test_position_mode_picks_nearest_among_top_k_by_hand():
    last = box(100, 100)
    centres = [(150, 100), (100, 140), (130, 100), (40, 100), (100, 30), (100, 100)]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45]  # the exact-position one ranks 6th
    candidates = Candidates(np.array([box(*c) for c in centres]), np.array(scores),
                            np.zeros((6, 1)))
    for top_k, expected in ((5, 2), (6, 5)):
        associator = TargetAssociator(config_with(selection_mode="position", position_top_k=top_k))
        associator.initialize(last, np.zeros(1))
        out, conf = associator.update(candidates)
        np.testing.assert_array_equal(out, box(*centres[expected]))
        assert conf == scores[expected]


@pytest.mark.parametrize("mode", ["reid", "top1", "position"])
@pytest.mark.parametrize("dim", [1, DIM])
def test_zero_candidates_never_crash(mode, dim):
    rng = np.random.default_rng(4)
    init_embedding = np.zeros(1) if dim == 1 else unit(rng.normal(size=DIM))

    def one(cx, score=0.8):
        emb = np.zeros((1, dim)) if dim == 1 else init_embedding[None]
        return Candidates(box(cx, 100)[None], np.array([score]), emb)

    frames = [Candidates.empty(dim), one(102), Candidates(np.zeros((0, 4)), [], np.zeros(0)),
              one(104), Candidates.empty(dim), Candidates.empty(dim), one(108)]
    boxes, conf, associator = run(config_with(selection_mode=mode), box(100, 100),
                                  init_embedding, frames)
    np.testing.assert_array_equal(conf, [1.0, 0.0, 0.8, 0.0, 0.8, 0.0, 0.0, 0.8])
    for t, expected in enumerate([100, 100, 102, 102, 104, 104, 104, 108]):
        np.testing.assert_array_equal(boxes[t], box(expected, 100))
    assert associator.distractor_boxes().shape == (0, 4)


def test_without_reid_head_reid_mode_tracks_and_redetects_by_score():
    rng = np.random.default_rng(5)
    a = lambda t: None if 10 <= t < 15 else box(100 + 3 * t + (150 if t >= 15 else 0), 100)  # noqa
    frames = without_appearance(make_frames([(a, lambda t: 0.8, lambda t: np.ones(DIM))], 25,
                                            rng))
    boxes, conf, associator = run(default_tracker_config(), a(0), np.zeros(1), frames)
    seen = [t for t in range(25) if a(t) is not None]
    assert np.all(iou_per_frame(boxes[seen], np.array([a(t) for t in seen])) > 0.9)
    assert np.all(conf[10:15] == 0.0)
    assert associator.target_id == 1 and len(associator.tracklet_ids) == 1


def test_lost_distractors_expire_but_the_target_never_does():
    rng = np.random.default_rng(6)
    emb_a, emb_b = embedding_pair(rng, 0.0)
    a = lambda t: None if 3 <= t < 13 else box(100, 100)  # noqa: E731  lost 10 > buffer 3
    b = lambda t: box(300, 100) if t < 3 else None  # noqa: E731
    frames = make_frames([(a, lambda t: 0.8, lambda t: emb_a), (b, lambda t: 0.8,
                                                               lambda t: emb_b)], 16, rng)
    associator = TargetAssociator(config_with(lost_buffer=3))
    associator.initialize(a(0), emb_a)
    ids = []
    for candidates in frames:
        associator.update(candidates)
        ids.append(associator.tracklet_ids.tolist())
    assert ids[1] == [1, 2]  # frame 2: B's tracklet exists (born at frame 1)
    assert ids[8] == [1]  # frame 9: B lost since frame 3 for more than 3 frames, removed
    assert ids[-1] == [1]
    out, conf = associator.update(make_frames([(a, lambda t: 0.8, lambda t: emb_a)], 2, rng)[0])
    np.testing.assert_array_equal(out, box(100, 100))
    assert conf == 0.8


def test_batched_equals_single_runs():
    scenes = [crossing_scene(n=30)[0], occlusion_scene(200.0, n=30, hidden=range(10, 20))[0],
              crossing_scene(n=30, seed=7)[0]]
    init = [crossing_scene(n=30)[1][0], box(100, 150), crossing_scene(n=30, seed=7)[1][0]]
    init_emb = [crossing_scene(n=30)[3], occlusion_scene(200.0, n=30)[2],
                crossing_scene(n=30, seed=7)[3]]
    scenes[2] = [Candidates.empty(DIM) if t % 7 == 3 else f for t, f in enumerate(scenes[2])]
    config = default_tracker_config()
    batched = BatchedAssociator(config, 3)
    batched.initialize(np.stack(init), np.stack(init_emb))
    outputs = [batched.update([s[t] for s in scenes]) for t in range(29)]
    for i in range(3):
        boxes, conf, _ = run(config, init[i], init_emb[i], scenes[i])
        np.testing.assert_array_equal(np.stack([o[0][i] for o in outputs]), boxes[1:])
        np.testing.assert_array_equal(np.array([o[1][i] for o in outputs]), conf[1:])


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="boxes must be"):
        Candidates(np.zeros((3, 5)), np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"scores must be \(2,\)"):
        Candidates(np.zeros((2, 4)), np.zeros(3), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="NaN or infinite value at index"):
        Candidates(np.array([[0, 0, np.nan, 1.0]]), [0.5], np.zeros((1, 1)))
    with pytest.raises(ValueError, match="selection_mode='best'"):
        TargetAssociator(config_with(selection_mode="best"))
    associator = TargetAssociator(default_tracker_config())
    with pytest.raises(ValueError, match="zero or negative size"):
        associator.initialize([10, 10, 10, 30], np.ones(4))
    associator.initialize([10, 10, 20, 30], np.ones(4))
    with pytest.raises(ValueError, match="width 3 but the first-frame embedding has 4"):
        associator.update(Candidates(np.array([[0, 0, 5, 5.0]]), [0.5], np.ones((1, 3))))
    with pytest.raises(ValueError, match=r"expected 3 initial boxes .* got \(2, 4\)"):
        BatchedAssociator(default_tracker_config(), 3).initialize(np.ones((2, 4)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="2 candidate sets for 3 sequences"):
        BatchedAssociator(default_tracker_config(), 3).update([Candidates.empty()] * 2)
