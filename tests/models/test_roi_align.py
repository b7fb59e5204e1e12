"""RoIAlign (aligned=True) against a float64 numpy reference of its definition."""

import math

import jax.numpy as jnp
import numpy as np

from dmtrack_jax.ops.roi_align import map_roi_levels, roi_align, roi_align_single


def bilinear_border_np(feat, y, x):
    height, width, _ = feat.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return np.zeros(feat.shape[-1])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * feat[y_low, x_low] + hy * lx * feat[y_low, x_high]
            + ly * hx * feat[y_high, x_low] + ly * lx * feat[y_high, x_high])


def roi_align_np(feat, box, out=7, scale=1.0, ratio=2):
    x1, y1, x2, y2 = (v * scale - 0.5 for v in box)
    bin_h, bin_w = (y2 - y1) / out, (x2 - x1) / out
    result = np.zeros((out, out, feat.shape[-1]))
    for ph in range(out):
        for pw in range(out):
            acc = np.zeros(feat.shape[-1])
            for iy in range(ratio):
                y = y1 + ph * bin_h + (iy + 0.5) * bin_h / ratio
                for ix in range(ratio):
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / ratio
                    acc += bilinear_border_np(feat, y, x)
            result[ph, pw] = acc / (ratio * ratio)
    return result


def test_matches_reference_including_boxes_partly_outside():
    rng = np.random.default_rng(0)
    feat = rng.normal(size=(12, 15, 3))
    stride = 4
    boxes = np.array([
        [8.0, 6.0, 40.0, 30.0],       # inside
        [-20.0, -10.0, 18.0, 22.0],   # partly outside top-left
        [45.0, 30.0, 75.0, 60.0],     # partly outside bottom-right (image is 60x48)
        [10.3, 11.7, 12.1, 13.9],     # tiny, sub-pixel on the feature map
        [-30.0, 5.0, -2.0, 20.0],     # entirely left of the image
    ])
    got = np.asarray(roi_align_single(jnp.asarray(feat, jnp.float32), jnp.asarray(boxes, jnp.float32),
                                      7, 1.0 / stride, 2))
    for t, box in enumerate(boxes):
        expected = roi_align_np(feat, box, 7, 1.0 / stride, 2)
        np.testing.assert_allclose(got[t], expected, atol=1e-5, rtol=1e-5, err_msg=f"box {t}")


def test_constant_feature_map_gives_constant_inside_and_the_batched_version_agrees():
    feat = np.full((2, 8, 8, 1), 3.0)
    boxes = np.array([[[4.0, 4.0, 20.0, 20.0]], [[0.0, 0.0, 32.0, 32.0]]])
    got = np.asarray(roi_align(jnp.asarray(feat), jnp.asarray(boxes), 7, 0.25, 2))
    np.testing.assert_allclose(got, 3.0, rtol=1e-6)


def test_level_mapping_follows_finest_scale_rule():
    # sqrt(w*h) = 56 -> log2(1 + ...) = 0 ; 112 -> 1 ; 224 -> 2 ; 500 -> clamped to 2; 20 -> 0
    sides = [20.0, 55.0, 56.0, 111.0, 112.0, 224.0, 500.0]
    boxes = jnp.asarray([[0.0, 0.0, s, s] for s in sides])
    expected = [min(max(math.floor(math.log2(s / 56.0 + 1e-6)), 0), 2) for s in sides]
    assert expected == [0, 0, 0, 0, 1, 2, 2]
    np.testing.assert_array_equal(np.asarray(map_roi_levels(boxes, 3, 56.0)), expected)
