"""Training losses: cross-query FCOS detection losses and the re-id identity loss.

Detection, per (image i, target j) pair with only gt j as foreground (GlobalTrack's cross-query
loss), then averaged over the valid pairs:
  focal     sigmoid focal loss (alpha 0.25, gamma 2) over both class channels, the target being
            class 1; summed and divided by num_pos + 1;
  iou       -log(IoU) of the decoded boxes at positive locations, weighted by the centerness
            target and divided by the sum of those weights;
  ctr       centerness BCE with logits, averaged over positive locations.
Re-id: identity classification of the stride-4 embeddings sampled at the box centres, scaled by
sqrt(2) * ln(nID - 1) (FairMOT), cross-entropy averaged over boxes with a known identity.

Every reduction guards its denominator, so a pair without positive locations, a batch without
valid targets and an identity batch without labels all give finite (zero) terms.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from dmtrack_jax.ops.postprocess import sample_embeddings
from dmtrack_jax.targets import centerness_target, cross_query_targets

IOU_EPS = 1e-6  # mmdet's IoU loss clamps IoU from below at this value (config loss.iou_eps)


def sigmoid_focal_loss(logits, targets, alpha: float = 0.25, gamma: float = 2.0):
    """Elementwise sigmoid focal loss (Lin et al.), numerically stable in the logits."""
    p = jax.nn.sigmoid(logits)
    ce = jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * (1 - p_t) ** gamma * ce


def bce_with_logits(logits, targets):
    return jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def aligned_iou_ltrb(pred, target):
    """IoU of boxes given as ltrb distances from the SAME location (..., 4)."""
    pred_area = (pred[..., 0] + pred[..., 2]) * (pred[..., 1] + pred[..., 3])
    target_area = (target[..., 0] + target[..., 2]) * (target[..., 1] + target[..., 3])
    w = jnp.minimum(pred[..., 0], target[..., 0]) + jnp.minimum(pred[..., 2], target[..., 2])
    h = jnp.minimum(pred[..., 1], target[..., 1]) + jnp.minimum(pred[..., 3], target[..., 3])
    inter = jnp.maximum(w, 0) * jnp.maximum(h, 0)
    union = jnp.maximum(pred_area + target_area - inter, IOU_EPS)
    return inter / union


def pair_losses(cls, reg, ctr, positive, ltrb, alpha: float, gamma: float,
                iou_eps: float = IOU_EPS):
    """One (image, target) pair over all P locations: cls (P, C), reg (P, 4), ctr (P,)."""
    num_classes = cls.shape[-1]
    pos = positive.astype(jnp.float32)
    # The target is the last class channel (class 1 of 2 in the released head).
    onehot = jnp.zeros_like(cls).at[:, num_classes - 1].set(pos)
    focal = jnp.sum(sigmoid_focal_loss(cls, onehot, alpha, gamma)) / (jnp.sum(pos) + 1.0)

    ctr_target = centerness_target(ltrb) * pos
    weight_sum = jnp.sum(ctr_target)
    iou = aligned_iou_ltrb(reg, ltrb)
    # Below the clamp the gradient is zero: a head whose initial boxes are far smaller than
    # iou_eps of the target never learns to regress (see configs/tiny.py).
    iou_term = -jnp.log(jnp.maximum(iou, iou_eps))
    iou_loss = jnp.sum(ctr_target * iou_term) / jnp.maximum(weight_sum, IOU_EPS)

    ctr_loss = jnp.sum(pos * bce_with_logits(ctr, ctr_target)) / jnp.maximum(jnp.sum(pos), 1.0)
    return focal, iou_loss, ctr_loss


def flatten_levels(maps) -> jax.Array:
    """Per-level (B, T, H, W, C) -> (B, T, P, C), finest level first (the targets' order)."""
    return jnp.concatenate([m.reshape(m.shape[:2] + (-1, m.shape[-1])) for m in maps], axis=2)


def detection_loss(outputs, boxes, box_valid, loss_config, strides):
    """Head outputs {"cls","reg","ctr": per-level (B, T, H, W, C)} and gt boxes (B, T, 4)
    x1, y1, x2, y2 in the search canvas -> (total, {"focal", "iou", "ctr", "num_pos"})."""
    level_shapes = [tuple(m.shape[2:4]) for m in outputs["cls"]]
    positive, ltrb = cross_query_targets(
        boxes, level_shapes, strides, tuple(tuple(r) for r in loss_config.regress_ranges),
        loss_config.center_sampling_radius)
    cls = flatten_levels(outputs["cls"]).astype(jnp.float32)
    reg = flatten_levels(outputs["reg"]).astype(jnp.float32)
    ctr = flatten_levels(outputs["ctr"])[..., 0].astype(jnp.float32)
    per_pair = jax.vmap(jax.vmap(
        lambda c, r, t, p, l: pair_losses(c, r, t, p, l, loss_config.focal_alpha,
                                          loss_config.focal_gamma,
                                          loss_config.get("iou_eps", IOU_EPS))))
    focal, iou, ctr_loss = per_pair(cls, reg, ctr, positive, ltrb)
    valid = box_valid.astype(jnp.float32)
    count = jnp.maximum(jnp.sum(valid), 1.0)
    parts = {
        "focal": jnp.sum(focal * valid) / count,
        "iou": jnp.sum(iou * valid) / count,
        "ctr": jnp.sum(ctr_loss * valid) / count,
        "num_pos": jnp.sum(jnp.sum(positive, -1) * valid) / count,
    }
    return parts["focal"] + parts["iou"] + parts["ctr"], parts


def embeddings_at_boxes(embedding_maps, boxes, stride: int = 4):
    """Embedding maps (B, h, w, D) read at box centres (B, N, 4) -> (B, N, D)."""
    return jax.vmap(lambda m, b: sample_embeddings(m, b, stride))(embedding_maps, boxes)


def embedding_scale(num_ids: int) -> float:
    if num_ids <= 2:
        raise ValueError(f"loss.num_ids must be > 2 for the re-id scale sqrt(2)*ln(nID-1); "
                         f"got {num_ids}")
    return math.sqrt(2.0) * math.log(num_ids - 1)


def reid_loss(embeddings, ids, kernel, bias, num_ids: int):
    """Embeddings (N, D), identity labels (N,) with -1 = unknown -> mean cross-entropy."""
    logits = embedding_scale(num_ids) * embeddings.astype(jnp.float32) @ kernel + bias
    known = ids >= 0
    safe_ids = jnp.where(known, ids, 0)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(log_probs, safe_ids[:, None], axis=-1)[:, 0]
    return jnp.sum(jnp.where(known, nll, 0.0)) / jnp.maximum(jnp.sum(known), 1)
