"""FCOS targets against a hand-worked example (one box, three levels, 128x128 canvas).

Box (8, 4, 104, 68): centre (56, 36). Strides 8/16/32 give the cell centres 4, 12, ...;
8, 24, ...; 16, 48, ... Centre regions (radius 1.5 x stride, clipped to the box):
  P3: x in (44, 68), y in (24, 48) -> x in {52, 60}, y in {28, 36, 44}; max(l,t,r,b) <= 52 < 64:
      all 6 are positive (x = 44 lies ON the region edge: strictly-inside rule -> negative).
  P4: x in (32, 80), y in (12, 60) -> x in {40, 56, 72}, y in {24, 40, 56};
      x = 40 has r = 64, x = 72 has l = 64: max = 64 lies in [64, 128] (inclusive) -> positive;
      x = 56 has max(l, t, r, b) <= 52 -> outside the range -> negative. 6 positives.
  P5: x in (8, 104), y in (4, 68) -> x in {16, 48, 80}, y in {16, 48}; max <= 88 < 128 -> none.
"""

import numpy as np
import jax.numpy as jnp

from dmtrack_jax.targets import centerness_target, cross_query_targets, fcos_targets

SHAPES = [(16, 16), (8, 8), (4, 4)]
STRIDES = (8, 16, 32)
RANGES = ((-1.0, 64.0), (64.0, 128.0), (128.0, 1e8))


def _positives_by_level(positive):
    out, start = [], 0
    for (h, w), s in zip(SHAPES, STRIDES):
        level = np.asarray(positive[start:start + h * w]).reshape(h, w)
        out.append({(int(j * s + s // 2), int(i * s + s // 2)) for i, j in zip(*np.nonzero(level))})
        start += h * w
    return out


def test_hand_worked_single_box():
    box = jnp.asarray([[8.0, 4.0, 104.0, 68.0]])
    positive, ltrb, assigned = fcos_targets(box, jnp.ones((1,), bool), SHAPES, STRIDES, RANGES)
    p3, p4, p5 = _positives_by_level(positive)
    assert p3 == {(x, y) for x in (52, 60) for y in (28, 36, 44)}
    assert p4 == {(x, y) for x in (40, 72) for y in (24, 40, 56)}
    assert p5 == set()
    assert int(positive.sum()) == 12
    assert set(np.unique(np.asarray(assigned)).tolist()) == {-1, 0}
    # P4 location (40, 24): l = 32, t = 20, r = 64, b = 44.
    index = 16 * 16 + 1 * 8 + 2  # row 1 (y = 24), column 2 (x = 40)
    np.testing.assert_allclose(np.asarray(ltrb[index]), [32, 20, 64, 44])
    np.testing.assert_allclose(float(centerness_target(ltrb[index])),
                               np.sqrt(32 / 64 * 20 / 44), rtol=1e-6)
    # Negatives carry zero targets.
    assert np.all(np.asarray(ltrb)[~np.asarray(positive)] == 0)


def test_min_area_rule_and_invalid_boxes():
    """Two nested boxes with the same centre: shared locations go to the smaller one."""
    big = [8.0, 4.0, 104.0, 68.0]
    small = [40.0, 20.0, 72.0, 52.0]  # 32x32 around (56, 36)
    boxes = jnp.asarray([big, small])
    positive, ltrb, assigned = fcos_targets(boxes, jnp.ones((2,), bool), SHAPES, STRIDES, RANGES)
    assigned = np.asarray(assigned)
    # P3 location (52, 36): inside both centre regions, both ranges fit -> the 32x32 box.
    index = 4 * 16 + 6  # y = 36 -> row 4, x = 52 -> column 6
    assert assigned[index] == 1
    np.testing.assert_allclose(np.asarray(ltrb[index]), [12, 16, 20, 16])
    # With the small box marked invalid the same location goes to the big box.
    _, ltrb_b, assigned_b = fcos_targets(boxes, jnp.asarray([True, False]), SHAPES, STRIDES,
                                         RANGES)
    assert int(assigned_b[index]) == 0
    np.testing.assert_allclose(np.asarray(ltrb_b[index]), [44, 32, 52, 32])


def test_cross_query_each_pair_has_one_foreground():
    boxes = jnp.asarray([[[8.0, 4.0, 104.0, 68.0], [40.0, 20.0, 72.0, 52.0]]])
    positive, _ = cross_query_targets(boxes, SHAPES, STRIDES, RANGES)
    single0, _, _ = fcos_targets(boxes[0, :1], jnp.ones((1,), bool), SHAPES, STRIDES, RANGES)
    single1, _, _ = fcos_targets(boxes[0, 1:], jnp.ones((1,), bool), SHAPES, STRIDES, RANGES)
    np.testing.assert_array_equal(np.asarray(positive[0, 0]), np.asarray(single0))
    np.testing.assert_array_equal(np.asarray(positive[0, 1]), np.asarray(single1))
    # The small box's location (52, 36) is foreground for pair 0 too: each pair ignores the other.
    assert bool(positive[0, 0, 4 * 16 + 6]) and bool(positive[0, 1, 4 * 16 + 6])
