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
on the flattened image, which XLA turns into gathers (and scatters in the backward pass).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp


def _bilinear_zero_padded(image: jax.Array, ys: jax.Array, xs: jax.Array) -> jax.Array:
    """Samples image (H, W, C) at float coordinates ys, xs (any shape S) -> (*S, C).

    Neighbours outside the image are zero; coordinates need no clipping beforehand.
    """
    height, width, channels = image.shape
    flat = image.reshape(height * width, channels)
    y0 = jnp.floor(ys)
    x0 = jnp.floor(xs)
    wy1 = ys - y0
    wx1 = xs - x0
    wy0 = 1.0 - wy1
    wx0 = 1.0 - wx1
    y0i = y0.astype(jnp.int32)
    x0i = x0.astype(jnp.int32)
    out = jnp.zeros(ys.shape + (channels,), image.dtype)
    for dy, wy in ((0, wy0), (1, wy1)):
        for dx, wx in ((0, wx0), (1, wx1)):
            yi = y0i + dy
            xi = x0i + dx
            inside = (yi >= 0) & (yi < height) & (xi >= 0) & (xi < width)
            index = jnp.clip(yi, 0, height - 1) * width + jnp.clip(xi, 0, width - 1)
            weight = jnp.where(inside, wy * wx, 0.0).astype(image.dtype)
            out = out + jnp.take(flat, index, axis=0) * weight[..., None]
    return out


def deform_conv2d_single(
    image: jax.Array,
    offset: jax.Array,
    mask: jax.Array,
    kernel: jax.Array,
    stride: int = 1,
    padding: int = 1,
    dilation: int = 1,
) -> jax.Array:
    """DCNv2 on one image.

    Args:
      image: (H, W, Cin).
      offset: (Ho, Wo, 2 * kh * kw), (dy, dx) per kernel point, mmcv layout.
      mask: (Ho, Wo, kh * kw), modulation scalars (already passed through a sigmoid).
      kernel: (kh, kw, Cin, Cout).
    Returns:
      (Ho, Wo, Cout), without bias.
    """
    kh, kw, cin, cout = kernel.shape
    num_points = kh * kw
    out_h, out_w = offset.shape[0], offset.shape[1]
    if offset.shape[-1] != 2 * num_points or mask.shape[-1] != num_points:
        raise ValueError(
            f"offset/mask channels {offset.shape[-1]}/{mask.shape[-1]} do not fit a "
            f"{kh}x{kw} kernel (expected {2 * num_points}/{num_points})"
        )
    base_y = jnp.arange(out_h, dtype=offset.dtype) * stride - padding
    base_x = jnp.arange(out_w, dtype=offset.dtype) * stride - padding
    point_i, point_j = jnp.meshgrid(jnp.arange(kh), jnp.arange(kw), indexing="ij")
    point_y = (point_i.reshape(-1) * dilation).astype(offset.dtype)  # (K,)
    point_x = (point_j.reshape(-1) * dilation).astype(offset.dtype)
    offset = offset.reshape(out_h, out_w, num_points, 2)
    ys = base_y[:, None, None] + point_y[None, None, :] + offset[..., 0]
    xs = base_x[None, :, None] + point_x[None, None, :] + offset[..., 1]
    columns = _bilinear_zero_padded(image, ys, xs)  # (Ho, Wo, K, Cin)
    columns = columns * mask[..., None].astype(columns.dtype)
    columns = columns.reshape(out_h, out_w, num_points * cin)
    return jnp.einsum(
        "hwk,ko->hwo", columns, kernel.reshape(num_points * cin, cout).astype(columns.dtype)
    )


def deform_conv2d(
    images: jax.Array,
    offsets: jax.Array,
    masks: jax.Array,
    kernel: jax.Array,
    stride: int = 1,
    padding: int = 1,
    dilation: int = 1,
) -> jax.Array:
    """Batched DCNv2: images (B, H, W, Cin) -> (B, Ho, Wo, Cout), vmapped per image."""

    def one(image, offset, mask):
        return deform_conv2d_single(image, offset, mask, kernel, stride, padding, dilation)

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
