"""Each loss against an independent numpy float64 reference (loops, textbook formulas)."""

import math

import ml_collections
import numpy as np
import jax
import jax.numpy as jnp

from dmtrack_jax import losses
from dmtrack_jax.targets import cross_query_targets

SHAPES = [(8, 8), (4, 4), (2, 2)]
STRIDES = (8, 16, 32)
RANGES = ((-1.0, 64.0), (64.0, 128.0), (128.0, 1e8))


def _loss_config():
    return ml_collections.ConfigDict(dict(focal_alpha=0.25, focal_gamma=2.0,
                                          center_sampling_radius=1.5, regress_ranges=RANGES))


@jax.jit
def _detection_loss(outputs, boxes, valid):
    """Jitted once per shape: eager op-by-op dispatch of the vmapped loss is slow."""
    return losses.detection_loss(outputs, boxes, valid, _loss_config(), STRIDES)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _reference_pair(cls, reg, ctr, pos, ltrb):
    """float64 reference of one (image, target) pair, written out term by term."""
    focal = 0.0
    for p in range(cls.shape[0]):
        for c in range(cls.shape[1]):
            t = 1.0 if (pos[p] and c == cls.shape[1] - 1) else 0.0
            prob = _sigmoid(cls[p, c])
            ce = -(t * math.log(prob) + (1 - t) * math.log(1 - prob))
            pt = prob if t else 1 - prob
            a = 0.25 if t else 0.75
            focal += a * (1 - pt) ** 2 * ce
    num_pos = int(pos.sum())
    focal /= num_pos + 1
    iou_sum = weight_sum = ctr_sum = 0.0
    for p in np.nonzero(pos)[0]:
        l, t, r, b = ltrb[p]
        cent = math.sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))
        # Decode both boxes around the point (0, 0) and intersect them.
        pb = np.array([-reg[p, 0], -reg[p, 1], reg[p, 2], reg[p, 3]])
        gb = np.array([-l, -t, r, b])
        iw = max(min(pb[2], gb[2]) - max(pb[0], gb[0]), 0)
        ih = max(min(pb[3], gb[3]) - max(pb[1], gb[1]), 0)
        inter = iw * ih
        union = (pb[2] - pb[0]) * (pb[3] - pb[1]) + (gb[2] - gb[0]) * (gb[3] - gb[1]) - inter
        iou = max(inter / max(union, 1e-6), 1e-6)
        iou_sum += cent * -math.log(iou)
        weight_sum += cent
        q = _sigmoid(ctr[p])
        ctr_sum += -(cent * math.log(q) + (1 - cent) * math.log(1 - q))
    iou_loss = iou_sum / max(weight_sum, 1e-6)
    ctr_loss = ctr_sum / max(num_pos, 1)
    return focal, iou_loss, ctr_loss


def _random_outputs(rng, batch, targets):
    keys = jax.random.split(rng, 3)
    out = {"cls": [], "reg": [], "ctr": []}
    for i, (h, w) in enumerate(SHAPES):
        k = jax.random.split(keys[0], 9)[i * 3:i * 3 + 3]
        out["cls"].append(jax.random.normal(k[0], (batch, targets, h, w, 2)) * 2 - 2)
        out["reg"].append(jnp.abs(jax.random.normal(k[1], (batch, targets, h, w, 4))) * 30)
        out["ctr"].append(jax.random.normal(k[2], (batch, targets, h, w, 1)))
    return {k: tuple(v) for k, v in out.items()}


def test_detection_loss_matches_float64_reference():
    boxes = jnp.asarray([[[4.0, 6.0, 40.0, 50.0], [20.0, 10.0, 60.0, 30.0], [0, 0, 1, 1]],
                         [[10.0, 10.0, 63.0, 63.0], [0, 0, 1, 1], [0, 0, 1, 1]]])
    valid = jnp.asarray([[True, True, False], [True, False, False]])
    outputs = _random_outputs(jax.random.PRNGKey(3), 2, 3)
    total, parts = _detection_loss(outputs, boxes, valid)

    positive, ltrb = cross_query_targets(boxes, SHAPES, STRIDES, RANGES)
    flat = {k: np.asarray(losses.flatten_levels(v), np.float64) for k, v in outputs.items()}
    sums = np.zeros(3)
    pairs = [(0, 0), (0, 1), (1, 0)]
    for b, t in pairs:
        sums += _reference_pair(flat["cls"][b, t], flat["reg"][b, t], flat["ctr"][b, t, :, 0],
                                np.asarray(positive[b, t]), np.asarray(ltrb[b, t], np.float64))
    expected = sums / len(pairs)
    assert all(int(np.asarray(positive[b, t]).sum()) > 0 for b, t in pairs)
    np.testing.assert_allclose([float(parts["focal"]), float(parts["iou"]), float(parts["ctr"])],
                               expected, rtol=2e-5)
    np.testing.assert_allclose(float(total), expected.sum(), rtol=2e-5)


def test_no_positive_and_no_valid_target_are_finite():
    outputs = _random_outputs(jax.random.PRNGKey(4), 1, 2)
    # A 1x1 box has no location strictly inside it: no positives; second pair invalid.
    boxes = jnp.asarray([[[30.2, 30.2, 30.8, 30.8], [0, 0, 10, 10]]])
    total, parts = _detection_loss(outputs, boxes, jnp.asarray([[True, False]]))
    assert np.isfinite(float(total)) and float(parts["iou"]) == 0 and float(parts["ctr"]) == 0
    flat_cls = np.asarray(losses.flatten_levels(outputs["cls"]), np.float64)[0, 0]
    ref_focal, _, _ = _reference_pair(flat_cls, np.ones((84, 4)), np.zeros(84),
                                      np.zeros(84, bool), np.zeros((84, 4)))
    np.testing.assert_allclose(float(parts["focal"]), ref_focal, rtol=2e-5)
    total, _ = _detection_loss(outputs, boxes, jnp.zeros((1, 2), bool))
    grads = jax.jit(jax.grad(lambda o: _detection_loss(o, boxes, jnp.zeros((1, 2), bool))[0]))(
        outputs)
    assert float(total) == 0.0
    assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree_util.tree_leaves(grads))


def test_reid_loss_matches_float64_reference():
    rng = np.random.default_rng(0)
    num_ids, dim = 7, 5
    emb = rng.normal(size=(6, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    kernel = rng.normal(size=(dim, num_ids)) * 0.3
    bias = rng.normal(size=num_ids) * 0.1
    ids = np.array([0, 3, -1, 6, -1, 2])
    got = float(losses.reid_loss(jnp.asarray(emb, jnp.float32), jnp.asarray(ids),
                                 jnp.asarray(kernel, jnp.float32), jnp.asarray(bias, jnp.float32),
                                 num_ids))
    scale = math.sqrt(2) * math.log(num_ids - 1)
    nll = []
    for e, i in zip(emb, ids):
        if i < 0:
            continue
        logits = scale * e @ kernel + bias
        nll.append(-(logits[i] - math.log(np.exp(logits).sum())))
    np.testing.assert_allclose(got, np.mean(nll), rtol=1e-5)
    # No known identity: zero, finite, zero gradient.
    none = jnp.full((6,), -1)
    value, grad = jax.value_and_grad(losses.reid_loss)(
        jnp.asarray(emb, jnp.float32), none, jnp.asarray(kernel, jnp.float32),
        jnp.asarray(bias, jnp.float32), num_ids)
    assert float(value) == 0.0 and np.all(np.asarray(grad) == 0)


def test_embeddings_at_box_centres():
    maps = jnp.arange(2 * 4 * 5 * 3, dtype=jnp.float32).reshape(2, 4, 5, 3)
    boxes = jnp.asarray([[[0, 0, 8, 8], [10, 2, 19, 13]], [[0, 0, 40, 40], [-9, -9, -1, -1]]],
                        jnp.float32)
    got = np.asarray(losses.embeddings_at_boxes(maps, boxes))
    m = np.asarray(maps)
    # centres (4,4)->cell (1,1); (14.5,7.5)->(1,3); (20,20)->(5,5) clipped to (3,4); (-5,-5)->(0,0)
    np.testing.assert_array_equal(got[0, 0], m[0, 1, 1])
    np.testing.assert_array_equal(got[0, 1], m[0, 1, 3])
    np.testing.assert_array_equal(got[1, 0], m[1, 3, 4])
    np.testing.assert_array_equal(got[1, 1], m[1, 0, 0])


def test_focal_and_centerness_gradients_match_float64_differences_at_zero_logits():
    """Gradients at and around logit 0 against central differences of the float64 reference.
    (The former hand-written BCE, max(x, 0) - x t + log1p(exp(-|x|)), took jnp.abs's
    derivative 1 at x = 0 and lost the -t ... p - t gradient there: 0 instead of 0.5 for t = 0.)"""
    x = np.array([0.0, -0.0, 0.7, -1.3, 0.0])
    cls = np.stack([x, x[::-1]], -1)
    ctr = np.array([0.0, 0.4, 0.0, -0.2, 0.0])
    pos = np.array([True, False, True, False, True])
    ltrb = np.array([[2.0, 3.0, 4.0, 5.0]] * 5)
    reg = np.ones((5, 4)) * 3

    def reference(c, t):
        focal, _, ctr_loss = _reference_pair(c, reg, t, pos, ltrb)
        return focal + ctr_loss

    step = 1e-6
    expected_cls = np.zeros_like(cls)
    for index in np.ndindex(cls.shape):
        up, down = cls.copy(), cls.copy()
        up[index] += step
        down[index] -= step
        expected_cls[index] = (reference(up, ctr) - reference(down, ctr)) / (2 * step)
    expected_ctr = np.zeros_like(ctr)
    for i in range(ctr.size):
        up, down = ctr.copy(), ctr.copy()
        up[i] += step
        down[i] -= step
        expected_ctr[i] = (reference(cls, up) - reference(cls, down)) / (2 * step)

    def total(c, t):
        focal, _, ctr_loss = losses.pair_losses(c, jnp.asarray(reg, jnp.float32), t,
                                                jnp.asarray(pos), jnp.asarray(ltrb, jnp.float32),
                                                0.25, 2.0)
        return focal + ctr_loss

    got_cls, got_ctr = jax.grad(total, argnums=(0, 1))(jnp.asarray(cls, jnp.float32),
                                                        jnp.asarray(ctr, jnp.float32))
    np.testing.assert_allclose(np.asarray(got_cls), expected_cls, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(got_ctr), expected_ctr, rtol=1e-4, atol=1e-6)
