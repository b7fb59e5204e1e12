"""RoIAlign (Mask R-CNN), `aligned=True`, written for one feature map and vmapped.

Definition (the one detectron2/torchvision/mmcv implement and the released weights assume):
a box (x1, y1, x2, y2) in image pixels is scaled by `spatial_scale` and shifted by -0.5
(aligned=True), split into out_h x out_w bins, each bin sampled on a sampling_ratio^2 grid at
bin-relative positions (k + 0.5) / sampling_ratio, and the samples averaged. A sample point with
y < -1 or y > H (likewise x) contributes zero; otherwise coordinates <= 0 are moved to 0 and
points at or beyond the last row/column use that row/column (border replication, not zeros).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _bilinear_border(features: jax.Array, ys: jax.Array, xs: jax.Array) -> jax.Array:
    """RoIAlign's bilinear read of features (H, W, C) at ys, xs (shape S) -> (*S, C)."""
    height, width, channels = features.shape
    outside = (ys < -1.0) | (ys > height) | (xs < -1.0) | (xs > width)
    ys = jnp.maximum(ys, 0.0)
    xs = jnp.maximum(xs, 0.0)
    y_low = jnp.floor(ys).astype(jnp.int32)
    x_low = jnp.floor(xs).astype(jnp.int32)
    at_bottom = y_low >= height - 1
    at_right = x_low >= width - 1
    y_low = jnp.where(at_bottom, height - 1, y_low)
    x_low = jnp.where(at_right, width - 1, x_low)
    y_high = jnp.where(at_bottom, height - 1, y_low + 1)
    x_high = jnp.where(at_right, width - 1, x_low + 1)
    ys = jnp.where(at_bottom, y_low.astype(ys.dtype), ys)
    xs = jnp.where(at_right, x_low.astype(xs.dtype), xs)
    ly = ys - y_low
    lx = xs - x_low
    hy = 1.0 - ly
    hx = 1.0 - lx
    flat = features.reshape(height * width, channels)

    def read(yi, xi):
        return jnp.take(flat, yi * width + xi, axis=0)

    value = (
        read(y_low, x_low) * (hy * hx)[..., None]
        + read(y_low, x_high) * (hy * lx)[..., None]
        + read(y_high, x_low) * (ly * hx)[..., None]
        + read(y_high, x_high) * (ly * lx)[..., None]
    )
    return jnp.where(outside[..., None], 0.0, value).astype(features.dtype)


def roi_align_single(
    features: jax.Array,
    boxes: jax.Array,
    output_size: int = 7,
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> jax.Array:
    """RoIAlign of T boxes on one feature map.

    Args:
      features: (H, W, C).
      boxes: (T, 4) x1, y1, x2, y2 in input-image pixels.
      spatial_scale: 1 / stride of `features`.
      sampling_ratio: samples per bin side (static; > 0).
    Returns:
      (T, output_size, output_size, C).
    """
    if sampling_ratio <= 0:
        raise ValueError(f"sampling_ratio must be > 0 for static shapes, got {sampling_ratio}")
    offset = 0.5 if aligned else 0.0
    boxes = boxes.astype(jnp.float32) if features.dtype == jnp.bfloat16 else boxes
    x1 = boxes[:, 0] * spatial_scale - offset
    y1 = boxes[:, 1] * spatial_scale - offset
    x2 = boxes[:, 2] * spatial_scale - offset
    y2 = boxes[:, 3] * spatial_scale - offset
    roi_w = x2 - x1
    roi_h = y2 - y1
    if not aligned:
        roi_w = jnp.maximum(roi_w, 1.0)
        roi_h = jnp.maximum(roi_h, 1.0)
    bin_w = roi_w / output_size
    bin_h = roi_h / output_size
    # Sample positions along one axis, in units of bins: (bin + (k + 0.5) / ratio).
    steps = (
        jnp.arange(output_size)[:, None]
        + (jnp.arange(sampling_ratio)[None, :] + 0.5) / sampling_ratio
    ).reshape(-1)  # (out * ratio,)
    ys = y1[:, None] + steps[None, :] * bin_h[:, None]  # (T, out*ratio)
    xs = x1[:, None] + steps[None, :] * bin_w[:, None]
    grid_y = jnp.broadcast_to(ys[:, :, None], ys.shape + (xs.shape[1],))
    grid_x = jnp.broadcast_to(xs[:, None, :], (xs.shape[0], ys.shape[1], xs.shape[1]))
    samples = _bilinear_border(features, grid_y, grid_x)  # (T, out*r, out*r, C)
    num_boxes, channels = boxes.shape[0], features.shape[-1]
    samples = samples.reshape(
        num_boxes, output_size, sampling_ratio, output_size, sampling_ratio, channels
    )
    return samples.mean(axis=(2, 4))


def roi_align(
    features: jax.Array,
    boxes: jax.Array,
    output_size: int = 7,
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> jax.Array:
    """Batched RoIAlign: features (B, H, W, C), boxes (B, T, 4) -> (B, T, out, out, C)."""

    def one(feature_map, image_boxes):
        return roi_align_single(
            feature_map, image_boxes, output_size, spatial_scale, sampling_ratio, aligned
        )

    return jax.vmap(one)(features, boxes)


def map_roi_levels(boxes: jax.Array, num_levels: int, finest_scale: float = 56.0) -> jax.Array:
    """mmdet's level assignment: floor(log2(sqrt(w * h) / finest_scale + 1e-6)), clamped."""
    scale = jnp.sqrt(
        jnp.maximum(boxes[..., 2] - boxes[..., 0], 0.0)
        * jnp.maximum(boxes[..., 3] - boxes[..., 1], 0.0)
    )
    level = jnp.floor(jnp.log2(scale / finest_scale + 1e-6))
    return jnp.clip(level, 0, num_levels - 1).astype(jnp.int32)
