"""The target-conditioned FCOS head, written for ONE search image and ONE target.

Per level (tower weights shared across levels, cls and reg branches separate):
  1. integration layer 1: fuse the template into the neck feature (DC: dynamic 1x1 conv) + ReLU;
  2. four 3x3 convs, no bias, GroupNorm(32), ReLU (integration layers 2-5 follow each one);
  3. the 1x1 encoder 256->32 with bias (`cond_modulator/downsampler_{cls,reg}`);
     integration layer 6 fuses at 32 channels + ReLU;
  4. 3x3 outputs from 32 channels: cls (2 classes, prior 0.01; channel 1 is the target),
     reg = ReLU(scale_l * x) in pixels with a learnable scale per level, and centerness from
     the reg branch.
Everything after integration layer 1 depends on the target, so the model maps this module over
targets (and images) with `nn.vmap`; there is no Python loop over targets.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dmtrack_jax.models.layers import Conv3x3, Scale, conv
from dmtrack_jax.ops.correlation import CORRELATIONS

Dtype = Any

PRIOR_PROB = 0.01


class ConvGN(nn.Module):
    """mmcv `ConvModule(conv 3x3 no bias, gn, relu)`: params `conv/kernel`, `gn/{scale,bias}`."""

    features: int
    groups: int = 32
    conv_algorithm: str = "direct"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        x = Conv3x3(self.features, self.conv_algorithm, kernel_init=nn.initializers.normal(0.01),
                    name="conv", dtype=self.dtype, param_dtype=self.param_dtype)(x)
        x = nn.GroupNorm(num_groups=self.groups, epsilon=1e-5, dtype=self.dtype,
                         param_dtype=self.param_dtype, name="gn")(x[None])[0]
        return nn.relu(x)


class Encoder(nn.Module):
    """`cond_modulator`: the 1x1 256->32 encoders of the two branches."""

    features: int = 32
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    def setup(self):
        kw = dict(use_bias=True, kernel_init=nn.initializers.normal(0.01), dtype=self.dtype,
                  param_dtype=self.param_dtype)
        self.downsampler_cls = conv(self.features, 1, **kw)
        self.downsampler_reg = conv(self.features, 1, **kw)

    def __call__(self, x, branch: str):
        return self.downsampler_cls(x) if branch == "cls" else self.downsampler_reg(x)


class DynamicFCOSHead(nn.Module):
    """One image's FPN maps [(H_l, W_l, C)] + one target's kernels -> per-level outputs."""

    correlation: str = "dc"
    integration_layers: Sequence[int] = (1, 6)
    head_channels: int = 256
    encoder_channels: int = 32
    num_convs: int = 4
    gn_groups: int = 32
    num_classes: int = 2
    num_levels: int = 3
    conv_algorithm: str = "auto"  # the tower convs: see ops/winograd.py
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, features: Sequence[jax.Array], kernels: Mapping[str, jax.Array]):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        fuse = CORRELATIONS[self.correlation]
        towers = {
            branch: [ConvGN(self.head_channels, self.gn_groups, self.conv_algorithm,
                            name=f"{branch}_convs_{k}", **kw)
                     for k in range(self.num_convs)]
            for branch in ("cls", "reg")
        }
        encoder = Encoder(self.encoder_channels, name="cond_modulator", **kw)
        out_kw = dict(kernel_init=nn.initializers.normal(0.01), use_bias=True, **kw)
        fcos_cls = conv(self.num_classes, 3, name="fcos_cls",
                        bias_init=nn.initializers.constant(-math.log((1 - PRIOR_PROB) / PRIOR_PROB)),
                        **out_kw)
        fcos_reg = conv(4, 3, name="fcos_reg", **out_kw)
        fcos_centerness = conv(1, 3, name="fcos_centerness", **out_kw)
        # integration layer number -> kernel index (1-based, the released `cls1`, `cls2`).
        slot = {layer: n for n, layer in enumerate(self.integration_layers, start=1)}

        def integrate(x, branch, layer, level):
            if layer not in slot:
                return x
            kernel = kernels[f"{branch}{slot[layer]}"][level]
            return nn.relu(fuse(x, kernel))

        cls_out, reg_out, ctr_out = [], [], []
        for level, x in enumerate(features):
            x = x.astype(self.dtype)
            branch_features = {}
            for branch in ("cls", "reg"):
                f = integrate(x, branch, 1, level)
                for k, tower_conv in enumerate(towers[branch]):
                    f = integrate(tower_conv(f), branch, k + 2, level)
                f = encoder(f, branch)
                branch_features[branch] = integrate(f, branch, 6, level)
            cls_out.append(fcos_cls(branch_features["cls"][None])[0])
            reg = Scale(name=f"scales_{level}", param_dtype=self.param_dtype)(
                fcos_reg(branch_features["reg"][None])[0])
            reg_out.append(nn.relu(reg))
            ctr_out.append(fcos_centerness(branch_features["reg"][None])[0])
        return {"cls": tuple(cls_out), "reg": tuple(reg_out), "ctr": tuple(ctr_out)}
