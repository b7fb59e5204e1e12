"""Ways of fusing a target's template into one search feature map (the paper's Table 1).

All functions take ONE search map x (H, W, Cin) and one target's template representation; the
head vmaps them over targets and images. Spatial size is preserved (odd kernels, 'same'
padding), so FCOS locations stay on their grid.

- DC, dynamic convolution (ours): a generated 1x1 kernel (Cout, Cin), output-channel-major as the
  released controllers emit it: y[h, w, o] = sum_i x[h, w, i] * K[o, i].
- CC, cross-correlation (SiamFC/SiamRPN "up-channel"): a generated (k, k, Cin, Cout) kernel slid
  over x: y[h, w, o] = sum_{a, b, i} x[h + a - k//2, w + b - k//2, i] * K[a, b, i, o].
- DW, depthwise cross-correlation (SiamRPN++): template (k, k, C) slid per channel:
  y[h, w, c] = sum_{a, b} x[h + a - k//2, w + b - k//2, c] * T[a, b, c].
- HP, Hadamard product (GlobalTrack's modulation): y[h, w, c] = x[h, w, c] * v[c].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def dynamic_conv1x1(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """DC: x (H, W, Cin), kernel (Cout, Cin) -> (H, W, Cout)."""
    return jnp.einsum("hwi,oi->hwo", x, kernel.astype(x.dtype))


def _shifted_windows(x: jax.Array, kh: int, kw: int) -> jax.Array:
    """x (H, W, C) zero-padded 'same' -> every kernel offset's view (H, W, kh * kw, C).

    The correlations below contract these views with the template instead of calling a
    convolution: the head vmaps them over targets, and a convolution whose kernel is batched
    becomes a grouped convolution, whose backward pass XLA:CPU runs ~10x slower than this.
    """
    height, width = x.shape[:2]
    padded = jnp.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    views = [padded[a:a + height, b:b + width] for a in range(kh) for b in range(kw)]
    return jnp.stack(views, axis=2)


def cross_correlation(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """CC: x (H, W, Cin), kernel (k, k, Cin, Cout) -> (H, W, Cout), 'same' padding."""
    kh, kw, cin, cout = kernel.shape
    windows = _shifted_windows(x, kh, kw)  # (H, W, kh * kw, Cin)
    return jnp.einsum("hwpi,pio->hwo", windows,
                      kernel.reshape(kh * kw, cin, cout).astype(x.dtype))


def depthwise_correlation(x: jax.Array, template: jax.Array) -> jax.Array:
    """DW: x (H, W, C), template (k, k, C) -> (H, W, C), 'same' padding."""
    kh, kw, channels = template.shape
    windows = _shifted_windows(x, kh, kw)  # (H, W, kh * kw, C)
    return jnp.einsum("hwpc,pc->hwc", windows,
                      template.reshape(kh * kw, channels).astype(x.dtype))


def hadamard(x: jax.Array, vector: jax.Array) -> jax.Array:
    """HP: x (H, W, C) times a per-channel template vector (C,)."""
    return x * vector.astype(x.dtype)


CORRELATIONS = {
    "dc": dynamic_conv1x1,
    "cc": cross_correlation,
    "dw": depthwise_correlation,
    "hp": hadamard,
}
