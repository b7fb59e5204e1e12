"""dmtrack_common.boxes against hand-worked boxes and a float64 brute-force reference."""

import jax.numpy as jnp
import numpy as np
import pytest

from dmtrack_common.boxes import aligned_iou_jnp, iou_matrix, xywh_to_xyxy, xyxy_to_xywh


def test_conversions_in_both_pixel_conventions():
    xywh = np.array([[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 1.0, 1.0]])
    # Continuous: [10, 40) x [20, 60).  Pixel-inclusive: pixels 10..39 and 20..59.
    np.testing.assert_array_equal(xywh_to_xyxy(xywh), [[10, 20, 40, 60], [0, 0, 1, 1]])
    np.testing.assert_array_equal(xywh_to_xyxy(xywh, pixel_inclusive=True),
                                  [[10, 20, 39, 59], [0, 0, 0, 0]])
    for inclusive in (False, True):
        back = xyxy_to_xywh(xywh_to_xyxy(xywh, inclusive), inclusive)
        np.testing.assert_array_equal(back, xywh)
    assert xywh_to_xyxy([1, 2, 3, 4]).shape == (4,)  # any leading shape


def _brute_force_iou(a, b):
    """Area by counting 1/8-pixel cells: an independent float64 reference for integer boxes."""
    def cells(box):
        x1, y1, x2, y2 = (int(round(v * 8)) for v in box)
        return {(i, j) for i in range(x1, x2) for j in range(y1, y2)}
    ca, cb = cells(a), cells(b)
    union = len(ca | cb)
    return len(ca & cb) / union if union else 0.0


def test_iou_matrix_hand_worked_and_brute_force():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [0, 0, 0, 0]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 25, 30], [2.5, 2.5, 7.5, 7.5]], float)
    iou = iou_matrix(a, b)
    assert iou.shape == (3, 4) and iou.dtype == np.float64
    # [0,0,10,10] vs [5,0,15,10]: intersection 50, union 150.
    assert iou[0, 1] == pytest.approx(50 / 150)
    # [5,5,15,15] vs [0,0,10,10]: intersection 25, union 175.
    assert iou[1, 0] == pytest.approx(25 / 175)
    assert iou[2].tolist() == [0.0, 0.0, 0.0, 0.0]  # empty box: 0, not NaN
    for i in range(len(a)):
        for j in range(len(b)):
            assert iou[i, j] == pytest.approx(_brute_force_iou(a[i], b[j]))
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 4)


def test_aligned_iou_jnp_equals_numpy_and_floors_the_union():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (6, 2))
    a = np.concatenate([xy, xy + rng.uniform(1, 30, (6, 2))], 1)
    xy = rng.uniform(0, 50, (5, 2))
    b = np.concatenate([xy, xy + rng.uniform(1, 30, (5, 2))], 1)
    matrix = aligned_iou_jnp(jnp.asarray(a, jnp.float32)[:, None], jnp.asarray(b, jnp.float32)[None])
    np.testing.assert_allclose(np.asarray(matrix), iou_matrix(a, b), rtol=1e-5, atol=1e-6)
    point = jnp.zeros((1, 4))
    assert float(aligned_iou_jnp(point, point, eps=1e-9)[0]) == 0.0
