"""Building blocks against numpy references: transposed-conv upsampling, nearest resize,
and the released controllers' padding quirk."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dmtrack_jax.models.layers import DepthwiseUpsample
from dmtrack_jax.models.neck import resize_nearest
from dmtrack_jax.models.template import Controllers


def conv_transpose_np(x, weight, stride, padding):
    """PyTorch ConvTranspose2d (groups = channels) definition: scatter each input pixel."""
    height, width, channels = x.shape
    k = weight.shape[-1]
    full = np.zeros(((height - 1) * stride + k, (width - 1) * stride + k, channels))
    for i in range(height):
        for j in range(width):
            for c in range(channels):
                full[i * stride:i * stride + k, j * stride:j * stride + k, c] += x[i, j, c] * weight[c, 0]
    out_h = (height - 1) * stride - 2 * padding + k
    out_w = (width - 1) * stride - 2 * padding + k
    return full[padding:padding + out_h, padding:padding + out_w]


@pytest.mark.parametrize("factor,size", [(2, (4, 5)), (4, (3, 2)), (2, (1, 1))])
def test_depthwise_upsample_is_pytorch_conv_transpose(factor, size):
    rng = np.random.default_rng(factor)
    x = rng.normal(size=(2, *size, 3))
    module = DepthwiseUpsample(factor=factor)
    variables = module.init(jax.random.PRNGKey(0), jnp.asarray(x, jnp.float32))
    k = 2 * factor
    torch_weight = rng.normal(size=(3, 1, k, k))  # PyTorch layout (C, 1, kh, kw), not separable
    variables = {"params": {"kernel": jnp.asarray(torch_weight.transpose(2, 3, 1, 0), jnp.float32)}}
    got = np.asarray(module.apply(variables, jnp.asarray(x, jnp.float32)))
    assert got.shape == (2, factor * size[0], factor * size[1], 3)
    for n in range(2):
        expected = conv_transpose_np(x[n], torch_weight, stride=factor, padding=factor // 2)
        np.testing.assert_allclose(got[n], expected, atol=1e-5)


def test_bilinear_init_upsamples_a_constant_to_a_constant_inside():
    module = DepthwiseUpsample(factor=2)
    x = jnp.ones((1, 5, 5, 2))
    variables = module.init(jax.random.PRNGKey(0), x)
    kernel = np.asarray(variables["params"]["kernel"])[:, :, 0, 0]
    ramp = np.array([0.25, 0.75, 0.75, 0.25])  # CenterNet fill_up_weights for k = 4
    np.testing.assert_allclose(kernel, np.outer(ramp, ramp), rtol=1e-6)
    out = np.asarray(module.apply(variables, x))
    np.testing.assert_allclose(out[0, 1:-1, 1:-1], 1.0, rtol=1e-6)


def test_resize_nearest_matches_floor_rule():
    x = jnp.arange(3 * 5, dtype=jnp.float32).reshape(1, 3, 5, 1)
    got = np.asarray(resize_nearest(x, (7, 10)))[0, :, :, 0]
    rows = np.floor(np.arange(7) * 3 / 7).astype(int)
    cols = np.floor(np.arange(10) * 5 / 10).astype(int)
    np.testing.assert_array_equal(got, np.arange(15.0).reshape(3, 5)[rows][:, cols])


def test_padding_quirk_equals_padded_1x1_conv_then_average_pool():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 7, 7, 8))  # three levels of one target's template feature
    controllers = Controllers("dc", (1, 6), head_channels=4, encoder_channels=2,
                              padding_quirk=True)
    variables = controllers.init(jax.random.PRNGKey(0), jnp.asarray(z, jnp.float32))
    got = controllers.apply(variables, jnp.asarray(z, jnp.float32))
    for name, (cout, cin) in (("cls1", (4, 4)), ("reg2", (2, 2))):
        p = variables["params"][f"controller_{name}"]
        w, b = np.asarray(p["kernel"], np.float64), np.asarray(p["bias"], np.float64)
        for level in range(3):
            # PyTorch: Conv2d(256, cout*cin, 1, padding=1) on 7x7 -> 9x9, then mean over 81.
            padded = np.pad(z[level], ((1, 1), (1, 1), (0, 0)))
            conv = padded @ w + b  # the bias lands on the zero border too
            expected = conv.mean(axis=(0, 1)).reshape(cout, cin)
            np.testing.assert_allclose(np.asarray(got[name][level]), expected, rtol=1e-4, atol=1e-5)
    # Without the quirk the pooled value is W mean(z) + b.
    plain = Controllers("dc", (1, 6), head_channels=4, encoder_channels=2)
    got_plain = plain.apply(variables, jnp.asarray(z, jnp.float32))
    p = variables["params"]["controller_cls1"]
    expected = (z[0].mean(axis=(0, 1)) @ np.asarray(p["kernel"]) + np.asarray(p["bias"])).reshape(4, 4)
    np.testing.assert_allclose(np.asarray(got_plain["cls1"][0]), expected, rtol=1e-4, atol=1e-5)
