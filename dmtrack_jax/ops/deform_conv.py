"""Modulated deformable convolution (DCNv2), written for one image and vmapped over a batch.

Semantics follow mmcv's `modulated_deform_conv` (what the released DMTrack weights assume):
one deformable group; the offset tensor holds, for kernel point k = i * kw + j (row-major), the
pair (dy_k, dx_k) at channels (2k, 2k + 1); the mask holds m_k at channel k. The sample for
output (y, x) and kernel point (i, j) is read at

    (y * stride - pad + i * dilation + dy_k,  x * stride - pad + j * dilation + dx_k)

by bilinear interpolation in which every neighbour outside the image contributes zero (a point
less than one pixel outside still receives its in-image neighbours' share), multiplied by m_k.
The sampled columns are then contracted with an ordinary (kh, kw, Cin, Cout) kernel.

No Python loop runs over pixels: the four bilinear neighbours are gathered with one `take` each
on the flattened image, which XLA turns into gathers (and scatters in the backward pass), either
for all kernel points at once or one kernel point per loop step (`method`).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp


def _bilinear_corners(height: int, width: int, ys: jax.Array, xs: jax.Array):
    """The four bilinear neighbours of float coordinates ys, xs (any shape S) in an (H, W)
    image: flat indices y * W + x (4, *S) int32, clipped into the image, and weights (4, *S),
    zero for a neighbour outside the image. Corner order (y0, x0), (y0, x1), (y1, x0), (y1, x1).
    """
    y0 = jnp.floor(ys)
    x0 = jnp.floor(xs)
    wy1 = ys - y0
    wx1 = xs - x0
    y0i = y0.astype(jnp.int32)
    x0i = x0.astype(jnp.int32)
    indices, weights = [], []
    for dy, wy in ((0, 1.0 - wy1), (1, wy1)):
        for dx, wx in ((0, 1.0 - wx1), (1, wx1)):
            yi = y0i + dy
            xi = x0i + dx
            inside = (yi >= 0) & (yi < height) & (xi >= 0) & (xi < width)
            indices.append(jnp.clip(yi, 0, height - 1) * width + jnp.clip(xi, 0, width - 1))
            weights.append(jnp.where(inside, wy * wx, 0.0))
    return jnp.stack(indices), jnp.stack(weights)


DCN_METHODS = ("auto", "columns", "points")


def resolve_dcn_method(method: str) -> str:
    """'auto' -> 'points' on the CPU backend, else 'columns' (see `deform_conv2d_single`)."""
    if method not in DCN_METHODS:
        raise ValueError(f"deformable conv method must be one of {DCN_METHODS}, got {method!r}")
    if method != "auto":
        return method
    return "points" if jax.default_backend() == "cpu" else "columns"


def deform_conv2d_single(
    image: jax.Array,
    offset: jax.Array,
    mask: jax.Array,
    kernel: jax.Array,
    stride: int = 1,
    padding: int = 1,
    dilation: int = 1,
    method: str = "auto",
) -> jax.Array:
    """DCNv2 on one image.

    Args:
      image: (H, W, Cin).
      offset: (Ho, Wo, 2 * kh * kw), (dy, dx) per kernel point, mmcv layout.
      mask: (Ho, Wo, kh * kw), modulation scalars (already passed through a sigmoid).
      kernel: (kh, kw, Cin, Cout).
      method: 'columns' samples all kh * kw points into one (Ho * Wo, kh * kw * Cin) matrix and
        contracts it with the kernel in one matrix product; 'points' loops over the kernel
        points (`lax.fori_loop`), sampling (Ho * Wo, Cin) and accumulating its product with
        that point's (Cin, Cout) slice. Same result up to float32 summation order. On XLA:CPU
        'points' is faster inside the whole network: there the loop's input is materialised
        once, while the one-shot gather of 'columns' gets the input's producer (the previous
        layer's BatchNorm + ReLU) and the index arithmetic fused into it and recomputed at
        every one of its 4 x kh * kw reads (2026-11-30: the paper network's two largest DLA-up
        layers ~26 ms each, benchmarks/BENCHMARKS.md item 5). 'auto': `resolve_dcn_method`.
    Returns:
      (Ho, Wo, Cout), without bias.
    Raises:
      ValueError: offset/mask channels that do not fit the kernel, or an unknown method.
    """
    kh, kw, cin, cout = kernel.shape
    num_points = kh * kw
    out_h, out_w = offset.shape[0], offset.shape[1]
    if offset.shape[-1] != 2 * num_points or mask.shape[-1] != num_points:
        raise ValueError(
            f"offset/mask channels {offset.shape[-1]}/{mask.shape[-1]} do not fit a "
            f"{kh}x{kw} kernel (expected {2 * num_points}/{num_points})"
        )
    method = resolve_dcn_method(method)
    height, width = image.shape[0], image.shape[1]
    base_y = jnp.arange(out_h, dtype=offset.dtype) * stride - padding
    base_x = jnp.arange(out_w, dtype=offset.dtype) * stride - padding
    point_i, point_j = jnp.meshgrid(jnp.arange(kh), jnp.arange(kw), indexing="ij")
    point_y = (point_i.reshape(-1) * dilation).astype(offset.dtype)  # (K,)
    point_x = (point_j.reshape(-1) * dilation).astype(offset.dtype)
    offset = offset.reshape(out_h, out_w, num_points, 2)
    ys = base_y[:, None, None] + point_y[None, None, :] + offset[..., 0]
    xs = base_x[None, :, None] + point_x[None, None, :] + offset[..., 1]
    indices, weights = _bilinear_corners(height, width, ys, xs)  # (4, Ho, Wo, K)
    # The modulation scales each sample: folded into its four bilinear weights.
    weights = (weights * mask[None].astype(weights.dtype)).astype(image.dtype)
    flat = image.reshape(height * width, cin)
    if method == "columns":
        columns = sum(jnp.take(flat, indices[c], axis=0) * weights[c][..., None]
                      for c in range(4))  # (Ho, Wo, K, Cin)
        columns = columns.reshape(out_h, out_w, num_points * cin)
        return jnp.einsum("hwk,ko->hwo", columns,
                          kernel.reshape(num_points * cin, cout).astype(columns.dtype))
    # (K, 4, Ho * Wo): one point's tables per loop step.
    indices = jnp.moveaxis(indices.reshape(4, out_h * out_w, num_points), -1, 0)
    weights = jnp.moveaxis(weights.reshape(4, out_h * out_w, num_points), -1, 0)
    point_kernels = kernel.reshape(num_points, cin, cout).astype(image.dtype)

    def add_point(k, total):
        sampled = sum(jnp.take(flat, indices[k, c], axis=0) * weights[k, c][:, None]
                      for c in range(4))  # (Ho * Wo, Cin)
        return total + sampled @ point_kernels[k]

    total = jax.lax.fori_loop(0, num_points, add_point,
                              jnp.zeros((out_h * out_w, cout), image.dtype))
    return total.reshape(out_h, out_w, cout)


def deform_conv2d(
    images: jax.Array,
    offsets: jax.Array,
    masks: jax.Array,
    kernel: jax.Array,
    stride: int = 1,
    padding: int = 1,
    dilation: int = 1,
    method: str = "auto",
) -> jax.Array:
    """Batched DCNv2: images (B, H, W, Cin) -> (B, Ho, Wo, Cout), vmapped per image (see
    `deform_conv2d_single`)."""

    def one(image, offset, mask):
        return deform_conv2d_single(image, offset, mask, kernel, stride, padding, dilation,
                                    method)

    return jax.vmap(one)(images, offsets, masks)


def split_offset_mask(conv_offset_out: jax.Array, num_points: int = 9) -> Sequence[jax.Array]:
    """Splits the 3K-channel output of `conv_offset` the way mmcv's ModulatedDeformConvPack does.

    The channels are cut in thirds (o1, o2, m); offsets = concat(o1, o2) read as (dy, dx) pairs
    per kernel point, mask = sigmoid(m).
    """
    o1 = conv_offset_out[..., :num_points]
    o2 = conv_offset_out[..., num_points : 2 * num_points]
    m = conv_offset_out[..., 2 * num_points :]
    return jnp.concatenate([o1, o2], axis=-1), jax.nn.sigmoid(m)
