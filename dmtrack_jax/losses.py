"""Training losses: cross-query FCOS detection losses and the re-id identity loss.

Detection, per (image i, target j) pair with only gt j as foreground (GlobalTrack's cross-query
loss, Huang et al. AAAI 2020, sect. 3.3, which DMTrack trains its detector with), then averaged
over the valid pairs. The terms are FCOS's (Tian et al. ICCV 2019, sect. 3.1-3.3, as in
mmdet's FCOSHead):
  focal     sigmoid focal loss (Lin et al. ICCV 2017, eq. 5; alpha 0.25, gamma 2) over both
            class channels, the target being class 1; summed and divided by num_pos + 1;
  iou       -log(IoU) of the decoded boxes at positive locations (UnitBox, mmdet's IoULoss,
            IoU clamped from below at `iou_eps`), weighted by the centerness target and
            divided by the sum of those weights;
  ctr       centerness BCE with logits, averaged over positive locations.
Re-id: identity classification of the stride-4 embeddings sampled at the box centres, scaled by
sqrt(2) * ln(nID - 1) (FairMOT's released code, after JDE, Wang et al. ECCV 2020), softmax
cross-entropy (FairMOT, Zhang et al. IJCV 2021, re-ID branch) averaged over boxes with a known
identity (label >= 0; -1 = unknown, masked out).

The standard elementwise losses are optax's (`optax.sigmoid_focal_loss`,
`optax.sigmoid_binary_cross_entropy`, `optax.softmax_cross_entropy_with_integer_labels`; optax's
focal alpha weighs positives by alpha and negatives by 1 - alpha, Lin et al.'s convention, and
its gradient is exact at logit 0, where the former hand-written BCE's was not). The
-log IoU with mmdet's clamp is written here, on `dmtrack_common.boxes.aligned_iou_jnp`; the
FairMOT uncertainty weighting of the detection and identity losses lives in the train step
(`dmtrack_jax.train.step`).

Every reduction guards its denominator, so a pair without positive locations, a batch without
valid targets and an identity batch without labels all give finite (zero) terms.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from dmtrack_common.boxes import aligned_iou_jnp
from dmtrack_jax.ops.postprocess import sample_embeddings
from dmtrack_jax.targets import centerness_target, cross_query_targets

IOU_EPS = 1e-6  # mmdet's IoU loss clamps IoU from below at this value (config loss.iou_eps)


def ltrb_to_boxes(ltrb):
    """(..., 4) FCOS distances l, t, r, b from one location -> (..., 4) x1, y1, x2, y2 of the box
    relative to that location, (-l, -t, r, b) (continuous convention). Two boxes regressed
    from the SAME location keep their IoU in this frame."""
    return jnp.concatenate([-ltrb[..., :2], ltrb[..., 2:]], axis=-1)


def neg_log_iou(pred_ltrb, target_ltrb, iou_eps: float = IOU_EPS):
    """-log(max(IoU, iou_eps)) of boxes given as ltrb distances from the same location, (...).

    UnitBox's IoU loss as mmdet's IoULoss computes it for FCOS: the union is floored at 1e-6
    and the IoU clamped from below at `iou_eps`. Below the clamp the gradient is zero: a head
    whose initial boxes are far smaller than iou_eps of the target never learns to regress
    (see configs/tiny.py).
    """
    iou = aligned_iou_jnp(ltrb_to_boxes(pred_ltrb), ltrb_to_boxes(target_ltrb), IOU_EPS)
    return -jnp.log(jnp.maximum(iou, iou_eps))


def pair_losses(cls, reg, ctr, positive, ltrb, alpha: float, gamma: float,
                iou_eps: float = IOU_EPS):
    """One (image, target) pair over all P locations: cls (P, C), reg (P, 4), ctr (P,) logits
    and regressed ltrb; positive (P,) bool and ltrb (P, 4) targets -> (focal, iou, ctr)."""
    num_classes = cls.shape[-1]
    pos = positive.astype(jnp.float32)
    # The target is the last class channel (class 1 of 2 in the released head).
    onehot = jnp.zeros_like(cls).at[:, num_classes - 1].set(pos)
    focal_terms = optax.sigmoid_focal_loss(cls, onehot, alpha=alpha, gamma=gamma)
    focal = jnp.sum(focal_terms) / (jnp.sum(pos) + 1.0)

    ctr_target = centerness_target(ltrb) * pos
    weight_sum = jnp.sum(ctr_target)
    iou_term = neg_log_iou(reg, ltrb, iou_eps)
    iou_loss = jnp.sum(ctr_target * iou_term) / jnp.maximum(weight_sum, IOU_EPS)

    ctr_terms = optax.sigmoid_binary_cross_entropy(ctr, ctr_target)
    ctr_loss = jnp.sum(pos * ctr_terms) / jnp.maximum(jnp.sum(pos), 1.0)
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
    """FairMOT's logit scale sqrt(2) * ln(nID - 1) for nID identities (needs nID > 2)."""
    if num_ids <= 2:
        raise ValueError(f"loss.num_ids must be > 2 for the re-id scale sqrt(2)*ln(nID-1); "
                         f"got {num_ids}")
    return math.sqrt(2.0) * math.log(num_ids - 1)


def reid_loss(embeddings, ids, kernel, bias, num_ids: int):
    """Embeddings (N, D), integer identity labels (N,) with -1 = unknown, classifier kernel
    (D, nID) and bias (nID,) -> mean softmax cross-entropy over the known labels (FairMOT).

    Unknown labels contribute neither value nor gradient; without any known label the loss is
    0 with a zero gradient. Raises ValueError when num_ids <= 2 (`embedding_scale`).
    """
    logits = embedding_scale(num_ids) * embeddings.astype(jnp.float32) @ kernel + bias
    known = ids >= 0
    # Unknown rows look up class 0 (any valid class) and are then masked out.
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.where(known, ids, 0))
    return jnp.sum(jnp.where(known, nll, 0.0)) / jnp.maximum(jnp.sum(known), 1)
