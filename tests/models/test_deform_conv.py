"""DCNv2 against a float64 numpy reference written from mmcv's definition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dmtrack_jax.ops.deform_conv import deform_conv2d_single, split_offset_mask


def bilinear_zero_np(image, y, x):
    """mmcv's dmcn_im2col_bilinear: zero outside, partial weights near the border."""
    height, width, _ = image.shape
    if not (-1 < y < height and -1 < x < width):
        return np.zeros(image.shape[-1])
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    ly, lx = y - y0, x - x0
    total = np.zeros(image.shape[-1])
    for yy, wy in ((y0, 1 - ly), (y0 + 1, ly)):
        for xx, wx in ((x0, 1 - lx), (x0 + 1, lx)):
            if 0 <= yy < height and 0 <= xx < width:
                total += wy * wx * image[yy, xx]
    return total


def deform_conv_np(image, offset, mask, kernel, stride=1, pad=1, dil=1):
    kh, kw, cin, cout = kernel.shape
    out_h, out_w = offset.shape[:2]
    out = np.zeros((out_h, out_w, cout))
    for oy in range(out_h):
        for ox in range(out_w):
            for i in range(kh):
                for j in range(kw):
                    k = i * kw + j
                    y = oy * stride - pad + i * dil + offset[oy, ox, 2 * k]
                    x = ox * stride - pad + j * dil + offset[oy, ox, 2 * k + 1]
                    value = bilinear_zero_np(image, y, x) * mask[oy, ox, k]
                    out[oy, ox] += value @ kernel[i, j]
    return out


def random_case(seed, height=7, width=6, cin=3, cout=4, offset_scale=2.5):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(height, width, cin))
    offset = rng.uniform(-offset_scale, offset_scale, size=(height, width, 18))
    # Keep fractional parts away from 0 so finite differences never straddle a kink.
    offset = np.floor(offset) + rng.uniform(0.2, 0.8, size=offset.shape)
    mask = rng.uniform(0.1, 1.0, size=(height, width, 9))
    kernel = rng.normal(size=(3, 3, cin, cout))
    return image, offset, mask, kernel


METHODS = ["columns", "points"]


@pytest.mark.parametrize("method", METHODS)
def test_matches_numpy_reference_with_samples_outside_image(method):
    image, offset, mask, kernel = random_case(0)
    # Push a few samples well outside and a few just outside (within one pixel) the image.
    offset[0, 0, 0] = -3.3
    offset[0, 1, 1] = -0.6  # kernel point 0 of output (0, 1) reads column -0.6: half outside
    offset[-1, -1, 16] = 2.7
    offset[3, 2, 5] = 9.4
    expected = deform_conv_np(image, offset, mask, kernel)
    got = deform_conv2d_single(jnp.asarray(image, jnp.float32), jnp.asarray(offset, jnp.float32),
                               jnp.asarray(mask, jnp.float32), jnp.asarray(kernel, jnp.float32),
                               method=method)
    # Some samples really fall outside: the case exercises the zero border.
    ys = np.arange(7)[:, None, None] - 1 + np.repeat(np.arange(3), 3)[None, None] + offset[..., 0::2]
    assert (ys < -1).any() and ((ys > -1) & (ys < 0)).any()
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_stride_two_and_dilation_match_reference(method):
    rng = np.random.default_rng(3)
    image = rng.normal(size=(9, 8, 2))
    out_h, out_w = 5, 4  # stride 2, pad 2, dilation 2
    offset = rng.uniform(-1.5, 1.5, size=(out_h, out_w, 18))
    mask = rng.uniform(size=(out_h, out_w, 9))
    kernel = rng.normal(size=(3, 3, 2, 3))
    expected = deform_conv_np(image, offset, mask, kernel, stride=2, pad=2, dil=2)
    got = deform_conv2d_single(*(jnp.asarray(a, jnp.float32) for a in (image, offset, mask, kernel)),
                               stride=2, padding=2, dilation=2, method=method)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5, rtol=1e-5)


def test_zero_offsets_and_unit_mask_equal_plain_conv():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(10, 9, 5)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 5, 6)).astype(np.float32)
    got = deform_conv2d_single(jnp.asarray(image), jnp.zeros((10, 9, 18)), jnp.ones((10, 9, 9)),
                               jnp.asarray(kernel))
    conv = jax.lax.conv_general_dilated(jnp.asarray(image)[None], jnp.asarray(kernel), (1, 1),
                                        ((1, 1), (1, 1)),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
    np.testing.assert_allclose(np.asarray(got), np.asarray(conv), atol=1e-5, rtol=1e-5)


def test_split_offset_mask_follows_mmcv_layout():
    out = jnp.arange(27.0).reshape(1, 1, 27)
    offsets, mask = split_offset_mask(out)
    np.testing.assert_array_equal(np.asarray(offsets[0, 0]), np.arange(18.0))
    np.testing.assert_allclose(np.asarray(mask[0, 0]), 1 / (1 + np.exp(-np.arange(18.0, 27.0))),
                               rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("wrt", ["image", "offset", "mask"])
def test_gradients_match_finite_differences(wrt, method):
    image, offset, mask, kernel = random_case(2, height=5, width=4, cin=2, cout=2, offset_scale=1.8)
    weights = np.random.default_rng(5).normal(size=(5, 4, 2))
    args = {"image": image, "offset": offset, "mask": mask}
    with jax.enable_x64(True):
        def loss(x):
            a = dict(args, **{wrt: x})
            out = deform_conv2d_single(jnp.asarray(a["image"]), jnp.asarray(a["offset"]),
                                       jnp.asarray(a["mask"]), jnp.asarray(kernel),
                                       method=method)
            return jnp.sum(out * weights)

        x0 = jnp.asarray(args[wrt], jnp.float64)
        grad = np.asarray(jax.grad(loss)(x0))
        rng = np.random.default_rng(7)
        flat_indices = rng.choice(x0.size, size=12, replace=False)
        eps = 1e-6
        for flat in flat_indices:
            idx = np.unravel_index(flat, x0.shape)
            bump = np.zeros(x0.shape)
            bump[idx] = eps
            numeric = (float(loss(x0 + bump)) - float(loss(x0 - bump))) / (2 * eps)
            np.testing.assert_allclose(grad[idx], numeric, rtol=1e-5, atol=1e-7)


def test_auto_method_and_unknown_method():
    from dmtrack_jax.ops.deform_conv import resolve_dcn_method

    expected = "points" if jax.default_backend() == "cpu" else "columns"
    assert resolve_dcn_method("auto") == expected
    assert resolve_dcn_method("columns") == "columns"
    image, offset, mask, kernel = random_case(4)
    with pytest.raises(ValueError, match="method must be one of"):
        deform_conv2d_single(*(jnp.asarray(a, jnp.float32) for a in (image, offset, mask, kernel)),
                             method="gather")
