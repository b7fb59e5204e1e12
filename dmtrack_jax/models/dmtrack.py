"""DMTrack: the one-shot global detector with dynamic convolutions, plus the re-id embedding.

Entry points (all batched over images; per-target work is vmapped, never looped):
- `encode_template(images, boxes, box_valid=None)` -> kernels, a dict of arrays shaped
  (B, T, L, ...) — built once per sequence when tracking;
- `detect(images, kernels)` -> {"cls", "reg", "ctr"}: tuples over levels of (B, T, H_l, W_l, C)
  (and "embeddings" (B, H/4, W/4, D) when `with_embeddings=True` and the re-id head exists);
- `embed(images)` -> stride-4 L2-normalised embeddings (B, H/4, W/4, D);
- `__call__(template_images, template_boxes, search_images, box_valid=None)`: the training
  forward over (batch, targets-per-image).
Boxes are x1, y1, x2, y2 in input-canvas pixels.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dmtrack_jax.models.dla import DLASeg
from dmtrack_jax.models.head import DynamicFCOSHead
from dmtrack_jax.models.layers import WINOGRAD_COLLECTION
from dmtrack_jax.ops.winograd import CONV_ALGORITHMS
from dmtrack_jax.models.neck import FPN
from dmtrack_jax.models.template import Controllers, TemplateBranch, select_level
from dmtrack_jax.ops.boxes import check_template_boxes
from dmtrack_jax.ops.roi_align import map_roi_levels, roi_align

Dtype = Any

# A harmless box that stands in for padded (invalid) targets so RoIAlign stays finite.
_PLACEHOLDER_BOX = (0.0, 0.0, 32.0, 32.0)


class ReIDHead(nn.Module):
    """The paper's re-id branch: a conv on the stride-4 trunk features -> L2-normalised D-dim."""

    features: int = 128
    hidden: int = 0  # 0: one 3x3 conv (the paper); > 0: 3x3 conv + ReLU + 1x1 (FairMOT style)
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        if self.hidden > 0:
            x = nn.relu(nn.Conv(self.hidden, (3, 3), padding=((1, 1), (1, 1)), name="conv1",
                                **kw)(x))
            x = nn.Conv(self.features, (1, 1), name="conv2", **kw)(x)
        else:
            x = nn.Conv(self.features, (3, 3), padding=((1, 1), (1, 1)), name="conv", **kw)(x)
        x = x.astype(jnp.float32)
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class DMTrack(nn.Module):
    dla_levels: Sequence[int] = (1, 1, 1, 2, 2, 1)
    dla_channels: Sequence[int] = (16, 32, 64, 128, 256, 512)
    fpn_channels: int = 256
    strides: Sequence[int] = (8, 16, 32)
    head_channels: int = 256
    encoder_channels: int = 32
    num_convs: int = 4
    gn_groups: int = 32
    num_classes: int = 2
    correlation: str = "dc"
    integration_layers: Sequence[int] = (1, 6)
    roi_size: int = 7
    roi_sampling_ratio: int = 2
    finest_scale: float = 56.0
    controller_padding_quirk: bool = False
    reid_dim: int = 128  # 0: no re-id head (the released DMTrack-GS)
    reid_hidden: int = 0
    # 3x3 stride-1 convs of the trunk, FPN and head towers: "auto" | "direct" | "winograd".
    conv_algorithm: str = "auto"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    def setup(self):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        num_levels = len(self.strides)
        self.backbone = DLASeg(self.dla_levels, self.dla_channels,
                               first_level=len(self.dla_channels) - num_levels,
                               conv_algorithm=self.conv_algorithm, **kw)
        self.neck = FPN(self.fpn_channels, self.conv_algorithm, **kw)
        self.template = TemplateBranch(num_levels, self.fpn_channels, **kw)
        self.controller = Controllers(self.correlation, tuple(self.integration_layers),
                                      self.head_channels, self.encoder_channels,
                                      self.controller_padding_quirk, **kw)
        head = nn.vmap(  # over targets: features shared, kernels mapped
            DynamicFCOSHead,
            in_axes=(None, 0),
            out_axes=0,
            # The Winograd transforms (`with_winograd_kernels`) are shared like the params.
            variable_axes={"params": None, WINOGRAD_COLLECTION: None},
            split_rngs={"params": False},
        )
        head = nn.vmap(  # over images
            head,
            in_axes=(0, 0),
            out_axes=0,
            variable_axes={"params": None, WINOGRAD_COLLECTION: None},
            split_rngs={"params": False},
        )
        self.bbox_head = head(self.correlation, tuple(self.integration_layers),
                              self.head_channels, self.encoder_channels, self.num_convs,
                              self.gn_groups, self.num_classes, num_levels,
                              self.conv_algorithm, **kw)
        if self.reid_dim > 0:
            self.reid_head = ReIDHead(self.reid_dim, self.reid_hidden, **kw)

    def _features(self, images, train: bool):
        trunk, pyramid = self.backbone(images.astype(self.dtype), train)
        return trunk, self.neck(pyramid)

    def encode_template(self, images, boxes, box_valid=None, train: bool = False):
        """Template images (B, H, W, 3) and boxes (B, T, 4) -> kernels {name: (B, T, L, ...)}.

        Boxes given as concrete arrays are checked: a box with NaN, zero or negative size, or
        entirely outside the image raises ValueError naming it. (Inside `jit` the caller checks.)
        """
        boxes = self._checked_boxes(images, boxes, box_valid)
        _, features = self._features(images, train)
        return self._kernels_from_features(features, boxes)

    def encode_template_and_embed(self, images, boxes, box_valid=None, train: bool = False):
        """`encode_template` and `embed` of the same images with ONE backbone pass (tracking
        frame 1: the kernels and the target's first-frame embedding map)."""
        boxes = self._checked_boxes(images, boxes, box_valid)
        trunk, features = self._features(images, train)
        return self._kernels_from_features(features, boxes), self.reid_head(trunk[2])

    def _checked_boxes(self, images, boxes, box_valid):
        """Validates concrete boxes; padded (invalid) slots get a harmless placeholder box."""
        if box_valid is None:
            box_valid = jnp.ones(boxes.shape[:2], bool)
        check_template_boxes(boxes, images.shape[1:3], box_valid)
        return jnp.where(box_valid[..., None], boxes, jnp.asarray(_PLACEHOLDER_BOX, boxes.dtype))

    def _kernels_from_features(self, features, boxes):
        per_level = [
            roi_align(f, boxes, self.roi_size, 1.0 / s, self.roi_sampling_ratio, aligned=True)
            for f, s in zip(features, self.strides)
        ]
        levels = map_roi_levels(boxes, len(self.strides), self.finest_scale)
        roi_features = select_level(per_level, levels)  # (B, T, S, S, C)
        template_features = self.template(roi_features)  # (B, T, L, S, S, C)
        return self.controller(template_features)

    def detect(self, images, kernels, train: bool = False, with_embeddings: bool = False):
        """Search images (B, H, W, 3) and kernels (B, T, L, ...) -> per-level head outputs."""
        trunk, features = self._features(images, train)
        out = dict(self.bbox_head(features, kernels))
        if with_embeddings and self.reid_dim > 0:
            out["embeddings"] = self.reid_head(trunk[2])
        return out

    def embed(self, images, train: bool = False):
        """Images (B, H, W, 3) -> L2-normalised re-id embeddings (B, H/4, W/4, D)."""
        if self.reid_dim <= 0:
            raise ValueError("this model has no re-id head (model.reid_dim = 0)")
        trunk, _ = self.backbone(images.astype(self.dtype), train)
        return self.reid_head(trunk[2])

    def __call__(self, template_images, template_boxes, search_images, box_valid=None,
                 train: bool = False, with_embeddings: bool = False):
        kernels = self.encode_template(template_images, template_boxes, box_valid, train)
        return self.detect(search_images, kernels, train, with_embeddings)


def dtype_from_name(name: str):
    try:
        return {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected float32, bfloat16 or float16")


def build_model(model_config, for_training: bool = False) -> DMTrack:
    """Builds DMTrack from a `config.model` ConfigDict (see configs/dmtrack_dla34.py).

    `for_training`: `conv_algorithm` 'auto' becomes 'direct' (XLA's convolution). Winograd is
    an inference optimisation, and the full-width training step with it crashed XLA:CPU
    (a segfault on the first step, 2026-11-29, jaxlib 0.10.2); same parameters either way.
    Raises ValueError naming the field for an invalid model config."""
    c = model_config
    layers = tuple(int(v) for v in c.integration_layers)
    if not layers or any(not 1 <= v <= 6 for v in layers) or len(set(layers)) != len(layers):
        raise ValueError(
            f"model.integration_layers must be a non-empty subset of 1..6, got {layers}")
    if c.correlation not in ("dc", "cc", "dw", "hp"):
        raise ValueError(f"model.correlation must be one of dc, cc, dw, hp; got {c.correlation!r}")
    if c.head_channels % c.gn_groups:
        raise ValueError(f"model.head_channels {c.head_channels} is not divisible by "
                         f"model.gn_groups {c.gn_groups}")
    # Configs saved before the field existed build with its default.
    conv_algorithm = c.get("conv_algorithm", "auto")
    if conv_algorithm not in CONV_ALGORITHMS:
        raise ValueError(f"model.conv_algorithm must be one of {CONV_ALGORITHMS}, "
                         f"got {conv_algorithm!r}")
    if for_training and conv_algorithm == "auto":
        conv_algorithm = "direct"
    return DMTrack(
        dla_levels=tuple(c.dla_levels),
        dla_channels=tuple(c.dla_channels),
        fpn_channels=c.fpn_channels,
        strides=tuple(c.strides),
        head_channels=c.head_channels,
        encoder_channels=c.encoder_channels,
        num_convs=c.num_convs,
        gn_groups=c.gn_groups,
        num_classes=c.num_classes,
        correlation=c.correlation,
        integration_layers=tuple(sorted(layers)),
        roi_size=c.roi_size,
        roi_sampling_ratio=c.roi_sampling_ratio,
        finest_scale=float(c.finest_scale),
        controller_padding_quirk=c.controller_padding_quirk,
        reid_dim=c.reid_dim,
        reid_hidden=c.reid_hidden,
        conv_algorithm=conv_algorithm,
        dtype=dtype_from_name(c.dtype),
        param_dtype=dtype_from_name(c.param_dtype),
    )


def init_variables(model: DMTrack, rng, image_hw=(64, 64), num_targets: int = 1):
    """Initialises params (and batch stats) with dummy inputs of the given size."""
    h, w = image_hw
    images = jnp.zeros((1, h, w, 3), jnp.float32)
    boxes = jnp.tile(jnp.asarray([[[4.0, 4.0, 28.0, 28.0]]], jnp.float32), (1, num_targets, 1))
    return model.init(rng, images, boxes, images, with_embeddings=True)


def with_winograd_kernels(model: DMTrack, variables):
    """`variables` plus the 'winograd' collection: every Winograd 3x3 conv's transformed
    kernel G g G^T (16, Cin, Cout) (ops/winograd.py), computed once, for inference with FIXED
    weights (the tracker's `NetworkStep`). `model.apply` then reads the transforms instead of
    recomputing them on every call (on XLA:CPU ~20% of the paper network's op time per frame,
    2026-11-30). Models without Winograd convs (other backends, bfloat16, 'direct') get
    `variables` back unchanged. Any 'winograd' collection already in `variables` is replaced.

    Do not train or save variables with this collection: after a parameter update the
    transforms would be stale. Raises what `model.apply` raises for variables that do not
    fit the model.
    """
    base = {k: v for k, v in variables.items() if k != WINOGRAD_COLLECTION}
    images = jnp.zeros((1, 64, 64, 3), jnp.float32)
    boxes = jnp.asarray([[[4.0, 4.0, 28.0, 28.0]]], jnp.float32)

    def transforms(v):
        # Only the collection is returned, so the network's own work is dead code to XLA.
        _, state = model.apply(v, images, boxes, images, mutable=[WINOGRAD_COLLECTION])
        return state.get(WINOGRAD_COLLECTION, {})

    cache = jax.jit(transforms)(base)
    if not jax.tree_util.tree_leaves(cache):
        return base
    return {**base, WINOGRAD_COLLECTION: cache}


def count_params(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))
