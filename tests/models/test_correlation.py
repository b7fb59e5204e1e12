"""CC, DW, HP and DC fusions against naive numpy loops of their definitions."""

import jax.numpy as jnp
import numpy as np

from dmtrack_jax.ops.correlation import (
    cross_correlation,
    depthwise_correlation,
    dynamic_conv1x1,
    hadamard,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 5, 3))


def pad(x, p):
    return np.pad(x, ((p, p), (p, p), (0, 0)))


def test_cross_correlation_equals_naive_sum():
    kernel = RNG.normal(size=(3, 3, 3, 4))
    xp = pad(X, 1)
    expected = np.zeros((6, 5, 4))
    for h in range(6):
        for w in range(5):
            for o in range(4):
                expected[h, w, o] = np.sum(xp[h:h + 3, w:w + 3, :] * kernel[..., o])
    got = cross_correlation(jnp.asarray(X, jnp.float32), jnp.asarray(kernel, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)


def test_seven_by_seven_cross_correlation_keeps_the_grid():
    kernel = RNG.normal(size=(7, 7, 3, 2))
    xp = pad(X, 3)
    expected = np.array([[[np.sum(xp[h:h + 7, w:w + 7] * kernel[..., o]) for o in range(2)]
                          for w in range(5)] for h in range(6)])
    got = cross_correlation(jnp.asarray(X, jnp.float32), jnp.asarray(kernel, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-4)


def test_depthwise_correlation_equals_naive_sum():
    template = RNG.normal(size=(3, 3, 3))
    xp = pad(X, 1)
    expected = np.zeros_like(X)
    for h in range(6):
        for w in range(5):
            for c in range(3):
                expected[h, w, c] = np.sum(xp[h:h + 3, w:w + 3, c] * template[..., c])
    got = depthwise_correlation(jnp.asarray(X, jnp.float32), jnp.asarray(template, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)


def test_hadamard_and_dynamic_conv():
    vec = RNG.normal(size=(3,))
    np.testing.assert_allclose(np.asarray(hadamard(jnp.asarray(X), jnp.asarray(vec))),
                               X * vec[None, None], rtol=1e-6)
    kernel = RNG.normal(size=(4, 3))  # (Cout, Cin), output-channel-major
    expected = np.zeros((6, 5, 4))
    for o in range(4):
        for i in range(3):
            expected[..., o] += X[..., i] * kernel[o, i]
    got = dynamic_conv1x1(jnp.asarray(X, jnp.float32), jnp.asarray(kernel, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)
