"""Winograd F(2x2, 3x3) convolution against the definition in numpy float64, and against XLA's
own convolution for gradients; the 'auto' rule that picks it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dmtrack_jax.ops import winograd
from dmtrack_jax.ops.winograd import conv3x3_winograd, resolve_conv_algorithm, winograd_kernel


def conv3x3_np(x, kernel):
    """PyTorch Conv2d(k=3, stride=1, padding=1, no bias) by its definition, float64.

    x (..., H, W, Cin), kernel (3, 3, Cin, Cout)."""
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    height, width = x.shape[-3:-1]
    pad = [(0, 0)] * (x.ndim - 3) + [(1, 1), (1, 1), (0, 0)]
    xp = np.pad(x, pad)
    out = np.zeros(x.shape[:-1] + (kernel.shape[-1],))
    for a in range(3):
        for b in range(3):
            out += xp[..., a:a + height, b:b + width, :] @ kernel[a, b]
    return out


@pytest.mark.parametrize("shape,tiles_per_band", [
    ((8, 10, 5), 192),  # even sides, one band
    ((7, 9, 5), 192),  # odd sides: the last tile row/column is cropped
    ((9, 11, 5), 6),  # several bands (6 tiles wide: one tile row per band)
    ((13, 3, 4), 2),  # bands of one tile row, the last band shorter
    ((1, 1, 3), 192),  # a single pixel
    ((2, 3, 6, 7, 4), 4),  # leading batch dimensions
])
def test_equals_the_convolution_definition(shape, tiles_per_band):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    x = rng.normal(size=shape)
    kernel = rng.normal(size=(3, 3, shape[-1], 6))
    got = conv3x3_winograd(jnp.asarray(x, jnp.float32), jnp.asarray(kernel, jnp.float32),
                           tiles_per_band)
    expected = conv3x3_np(x, kernel)
    assert got.shape == expected.shape
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


def test_kernel_transform_is_g_g_gt():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 2, 3))
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    expected = np.einsum("ia,abco,jb->ijco", g, kernel, g).reshape(16, 2, 3)
    np.testing.assert_allclose(np.asarray(winograd_kernel(jnp.asarray(kernel, jnp.float32))),
                               expected, rtol=1e-6, atol=1e-6)


def test_gradients_equal_xla_convolution_gradients():
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(2, 9, 7, 8)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(3, 3, 8, 5)) * 0.2, jnp.float32)
    cotangent = jnp.asarray(rng.normal(size=(2, 9, 7, 5)), jnp.float32)

    def direct(x, k):
        return jax.lax.conv_general_dilated(x, k, (1, 1), ((1, 1), (1, 1)),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def loss(conv):
        return lambda x, k: jnp.sum(conv(x, k) * cotangent)

    want = jax.grad(loss(direct), argnums=(0, 1))(x, kernel)
    got = jax.jit(jax.grad(loss(lambda a, b: conv3x3_winograd(a, b, 8)), argnums=(0, 1)))(
        x, kernel)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def test_vmapped_over_targets_equals_per_target_calls():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(3, 6, 5, 4)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(3, 3, 4, 2)), jnp.float32)
    batched = jax.vmap(lambda a: conv3x3_winograd(a, kernel, 3))(x)
    for t in range(3):
        np.testing.assert_allclose(np.asarray(batched[t]), conv3x3_np(x[t], kernel),
                                   rtol=1e-5, atol=1e-5)


def test_bad_kernels_are_refused():
    x = jnp.zeros((4, 4, 3))
    with pytest.raises(ValueError, match="3x3 kernel"):
        conv3x3_winograd(x, jnp.zeros((5, 5, 3, 2)))
    with pytest.raises(ValueError, match="2 input channels, input has 3"):
        conv3x3_winograd(x, jnp.zeros((3, 3, 2, 2)))


def test_auto_picks_winograd_only_for_wide_convs_on_cpu(monkeypatch):
    with pytest.raises(ValueError, match="winograd"):
        resolve_conv_algorithm("fft", 256)
    assert resolve_conv_algorithm("direct", 256) == "direct"
    assert resolve_conv_algorithm("winograd", 8) == "winograd"
    monkeypatch.setattr(winograd.jax, "default_backend", lambda: "cpu")
    assert resolve_conv_algorithm("auto", 256) == "winograd"
    assert resolve_conv_algorithm("auto", 512) == "winograd"
    assert resolve_conv_algorithm("auto", 128) == "direct"
    assert resolve_conv_algorithm("auto", 256, jnp.bfloat16) == "direct"
    monkeypatch.setattr(winograd.jax, "default_backend", lambda: "gpu")
    assert resolve_conv_algorithm("auto", 256) == "direct"


def test_training_builds_auto_convs_as_xla_convs():
    """'auto' picks Winograd on CPU for inference only: the full-width training step with it
    crashed XLA:CPU (segfault, jaxlib 0.10.2), so the training loop builds with for_training."""
    from configs import dmtrack_dla34
    from dmtrack_jax.models import build_model

    config = dmtrack_dla34.get_config().model
    assert build_model(config).conv_algorithm == "auto"
    assert build_model(config, for_training=True).conv_algorithm == "direct"
    config.conv_algorithm = "winograd"  # an explicit choice is the user's
    assert build_model(config, for_training=True).conv_algorithm == "winograd"
