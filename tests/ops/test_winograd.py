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


def test_transformed_kernel_shapes_are_checked():
    x = jnp.zeros((4, 4, 3))
    with pytest.raises(ValueError, match=r"\(16, Cin, Cout\)"):
        winograd.conv3x3_winograd_transformed(x, jnp.zeros((9, 3, 2)))
    with pytest.raises(ValueError, match="2 input channels, input has 3"):
        winograd.conv3x3_winograd_transformed(x, jnp.zeros((16, 2, 2)))


def _tiny_model(algorithm):
    from configs import tiny
    from dmtrack_jax.models import build_model, init_variables

    config = tiny.get_config().model
    config.conv_algorithm = algorithm
    model = build_model(config)
    # Same parameters for every algorithm: initialised (jitted) with XLA's convs.
    config.conv_algorithm = "direct"
    direct = build_model(config)
    variables = jax.jit(lambda key: init_variables(direct, key))(jax.random.PRNGKey(0))
    # init never stores the transforms (they must not reach saved variables).
    assert "winograd" not in jax.eval_shape(
        lambda: init_variables(model, jax.random.PRNGKey(0), (32, 32)))
    return model, variables


def test_cached_transforms_give_the_same_network_and_are_the_ones_used():
    """`with_winograd_kernels` stores G g G^T of every Winograd conv (trunk, FPN and the head's
    towers, which are vmapped over targets and images) once; `detect` then reads them. Same
    outputs as transforming on every call; a cache made from other weights changes the
    outputs, so the cache really is what the convs use."""
    from dmtrack_jax.models import with_winograd_kernels

    model, variables = _tiny_model("winograd")
    cached = with_winograd_kernels(model, variables)
    transforms = jax.tree_util.tree_leaves_with_path(cached["winograd"])
    paths = [jax.tree_util.keystr(path) for path, _ in transforms]
    assert any("bbox_head" in p and "cls_convs_0" in p for p in paths), paths
    assert any("fpn_convs" in p for p in paths), paths
    # Each is exactly the transform of its conv's kernel.
    for path, u in transforms:
        kernel = variables["params"]
        for key in path[:-1]:
            kernel = kernel[key.key]
        np.testing.assert_allclose(np.asarray(u), np.asarray(winograd_kernel(kernel["kernel"])),
                                   rtol=1e-6, atol=1e-7)

    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.normal(size=(1, 64, 64, 3)), jnp.float32)
    boxes = jnp.asarray([[[20.0, 16.0, 52.0, 44.0], [8.0, 8.0, 30.0, 40.0]]], jnp.float32)
    encode = jax.jit(lambda v: model.apply(v, images, boxes, method=model.encode_template))
    detect = jax.jit(lambda v, k: model.apply(v, images, k, method=model.detect))
    kernels = encode(variables)
    plain, fast = detect(variables, kernels), detect(cached, kernels)
    for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(fast)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)

    stale = dict(variables, winograd=jax.tree_util.tree_map(lambda u: u * 1.5,
                                                            cached["winograd"]))
    changed = detect(stale, kernels)
    assert not np.allclose(np.asarray(changed["cls"][0]), np.asarray(plain["cls"][0]))
    # A stale collection passed in is replaced, not kept.
    redone = with_winograd_kernels(model, stale)
    np.testing.assert_array_equal(np.asarray(jax.tree_util.tree_leaves(redone["winograd"])[0]),
                                  np.asarray(jax.tree_util.tree_leaves(cached["winograd"])[0]))


def test_no_winograd_convs_leave_the_variables_alone():
    from dmtrack_jax.models import with_winograd_kernels

    model, variables = _tiny_model("direct")
    assert with_winograd_kernels(model, variables).keys() == variables.keys()
