"""Top-k, decoding and NMS inside jit against numpy references and hand-worked cases."""

import jax
import jax.numpy as jnp
import numpy as np

from dmtrack_jax.ops.postprocess import (
    decode_boxes,
    greedy_nms,
    level_points,
    sample_embeddings,
    select_candidates,
)


def iou_np(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def nms_np(boxes, scores, thr):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        order = [j for j in order if iou_np(boxes[i], boxes[j]) <= thr]
    return keep


def test_level_points_follow_paper_equation_1():
    pts = np.asarray(level_points(2, 3, 8))
    np.testing.assert_array_equal(pts[1, 2], [2 * 8 + 4, 1 * 8 + 4])
    np.testing.assert_array_equal(np.asarray(level_points(1, 1, 32))[0, 0], [16, 16])


def test_decode_hand_worked():
    box = decode_boxes(jnp.asarray([[20.0, 12.0]]), jnp.asarray([[5.0, 2.0, 10.0, 8.0]]))
    np.testing.assert_array_equal(np.asarray(box), [[15.0, 10.0, 30.0, 20.0]])


def test_greedy_nms_equals_numpy_reference_on_random_boxes():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, size=(200, 2))
    wh = rng.uniform(5, 40, size=(200, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    scores = rng.permutation(200) / 200.0 + 0.001
    expected = nms_np(boxes, scores, 0.5)
    picked, valid = jax.jit(greedy_nms, static_argnums=(2, 3))(
        jnp.asarray(boxes, jnp.float32), jnp.asarray(scores, jnp.float32), 0.5, 300)
    got = [int(i) for i, v in zip(np.asarray(picked), np.asarray(valid)) if v]
    assert got == expected
    # Truncation keeps the first max_out picks of the full NMS.
    picked, valid = greedy_nms(jnp.asarray(boxes, jnp.float32), jnp.asarray(scores, jnp.float32), 0.5, 10)
    assert [int(i) for i in np.asarray(picked)] == expected[:10] and bool(np.asarray(valid).all())


def test_select_candidates_finds_the_planted_peak_and_pads_invalid_slots():
    strides = (8, 16, 32)
    sizes = ((8, 8), (4, 4), (2, 2))
    cls = [np.full((h, w, 2), -8.0, np.float32) for h, w in sizes]
    ctr = [np.zeros((h, w, 1), np.float32) for h, w in sizes]
    reg = [np.full((h, w, 4), 4.0, np.float32) for h, w in sizes]
    cls[0][3, 5, 1] = 6.0   # a strong target at level 0, cell (3, 5): point (44, 28)
    reg[0][3, 5] = [10.0, 6.0, 14.0, 20.0]
    cls[0][3, 5, 0] = 9.0   # the vestigial class channel is ignored
    boxes, scores, valid = select_candidates(cls, reg, ctr, strides, pre_nms_top_k=5,
                                             iou_threshold=0.5, max_detections=20,
                                             min_score=0.01)
    np.testing.assert_allclose(np.asarray(boxes[0]), [34.0, 22.0, 58.0, 48.0])
    expected_score = 1 / (1 + np.exp(-6.0)) * 0.5
    np.testing.assert_allclose(float(scores[0]), expected_score, rtol=1e-6)
    # Everything else scores sigmoid(-8) * 0.5 < 0.01: filtered, so slots are invalid and zero.
    assert bool(valid[0]) and not bool(np.asarray(valid[1:]).any())
    assert float(np.asarray(scores[1:]).max()) == 0.0


def test_sample_embeddings_reads_the_centre_cell():
    emb = np.arange(4 * 5 * 2, dtype=np.float32).reshape(4, 5, 2)
    boxes = jnp.asarray([[0.0, 0.0, 8.0, 8.0], [10.0, 6.0, 14.0, 10.0], [50.0, 50.0, 90.0, 90.0]])
    got = np.asarray(sample_embeddings(jnp.asarray(emb), boxes, 4))
    np.testing.assert_array_equal(got, [emb[1, 1], emb[2, 3], emb[3, 4]])
