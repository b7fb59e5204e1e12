"""FCOS training targets, per image with static shapes.

For every location of every pyramid level (the cell centres x = j*s + s//2 of
`ops.postprocess.level_points`) the target is the gt box that

  1. contains the location strictly inside its centre region: the box
     [cx - r*s, cy - r*s, cx + r*s, cy + r*s] clipped to the gt box (centre sampling,
     r = 1.5 by default);
  2. has its largest distance max(l, t, r, b) inside the level's regress range
     lo <= m <= hi (both ends inclusive, as mmdet's FCOS);
  3. among the gt boxes meeting 1 and 2, has the smallest area (the minimum-area rule).

The cross-query loss of GlobalTrack/DMTrack calls this with ONE gt box per (image, target)
pair, so only that target is foreground; the general G-box form is kept because the rule is
the same and it is what the tests pin down. Regression targets are in pixels (the head's
`reg = relu(scale_l * x)` is in pixels too).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dmtrack_jax.ops.postprocess import level_points

INF = 1e8


def all_points(level_shapes: Sequence[tuple[int, int]], strides: Sequence[int]):
    """Locations (P, 2) as (x, y) and their stride (P,) over all levels, finest first."""
    points, point_strides = [], []
    for (h, w), s in zip(level_shapes, strides):
        points.append(level_points(h, w, s).reshape(-1, 2))
        point_strides.append(jnp.full((h * w,), float(s), jnp.float32))
    return jnp.concatenate(points), jnp.concatenate(point_strides)


def point_ranges(level_shapes, regress_ranges) -> jax.Array:
    """The regress range (lo, hi) of every location (P, 2)."""
    return jnp.concatenate([
        jnp.tile(jnp.asarray(r, jnp.float32)[None], (h * w, 1))
        for (h, w), r in zip(level_shapes, regress_ranges)
    ])


def fcos_targets(boxes: jax.Array, valid: jax.Array, level_shapes, strides,
                 regress_ranges, radius: float = 1.5):
    """gt boxes (G, 4) x1, y1, x2, y2 and their validity (G,) -> per location (P locations):

    positive (P,) bool, ltrb regression targets (P, 4) in pixels (zeros where negative),
    and the index of the assigned gt (P,) int32 (-1 where negative).
    """
    if len(level_shapes) != len(strides) or len(strides) != len(regress_ranges):
        raise ValueError(f"{len(level_shapes)} levels, {len(strides)} strides and "
                         f"{len(regress_ranges)} regress ranges must agree")
    points, point_stride = all_points(level_shapes, strides)
    ranges = point_ranges(level_shapes, regress_ranges)
    boxes = boxes.astype(jnp.float32)
    x = points[:, 0:1]
    y = points[:, 1:2]  # (P, 1) against (1, G)
    x1, y1, x2, y2 = (boxes[None, :, i] for i in range(4))
    ltrb = jnp.stack([x - x1, y - y1, x2 - x, y2 - y], axis=-1)  # (P, G, 4)

    cx = (x1 + x2) * 0.5
    cy = (y1 + y2) * 0.5
    r = point_stride[:, None] * radius
    cb_x1 = jnp.maximum(cx - r, x1)
    cb_y1 = jnp.maximum(cy - r, y1)
    cb_x2 = jnp.minimum(cx + r, x2)
    cb_y2 = jnp.minimum(cy + r, y2)
    inside_centre = jnp.minimum(jnp.minimum(x - cb_x1, y - cb_y1),
                                jnp.minimum(cb_x2 - x, cb_y2 - y)) > 0

    max_distance = jnp.max(ltrb, axis=-1)
    in_range = (max_distance >= ranges[:, 0:1]) & (max_distance <= ranges[:, 1:2])

    area = (x2 - x1) * (y2 - y1)
    candidate = inside_centre & in_range & valid[None, :]
    areas = jnp.where(candidate, jnp.broadcast_to(area, candidate.shape), INF)
    assigned = jnp.argmin(areas, axis=1)
    positive = jnp.min(areas, axis=1) < INF
    targets = jnp.take_along_axis(ltrb, assigned[:, None, None], axis=1)[:, 0]
    targets = jnp.where(positive[:, None], targets, 0.0)
    return positive, targets, jnp.where(positive, assigned, -1).astype(jnp.int32)


def centerness_target(ltrb: jax.Array) -> jax.Array:
    """sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)); 0 where undefined."""
    lr = ltrb[..., jnp.array([0, 2])]
    tb = ltrb[..., jnp.array([1, 3])]
    ratio_lr = jnp.min(lr, -1) / jnp.maximum(jnp.max(lr, -1), 1e-12)
    ratio_tb = jnp.min(tb, -1) / jnp.maximum(jnp.max(tb, -1), 1e-12)
    return jnp.sqrt(jnp.clip(ratio_lr * ratio_tb, 0.0, 1.0))


def cross_query_targets(boxes: jax.Array, level_shapes, strides, regress_ranges,
                        radius: float = 1.5):
    """Boxes (B, T, 4) -> positive (B, T, P), ltrb (B, T, P, 4): one foreground gt per pair."""

    def one(box):
        positive, ltrb, _ = fcos_targets(box[None], jnp.ones((1,), bool), level_shapes,
                                         strides, regress_ranges, radius)
        return positive, ltrb

    return jax.vmap(jax.vmap(one))(boxes)
