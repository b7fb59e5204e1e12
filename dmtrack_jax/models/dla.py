"""DLA-34, the CenterNet variant with DCNv2 up-aggregation, as DMTrack's backbone uses it.

Base: levels [1, 1, 1, 2, 2, 1], channels [16, 32, 64, 128, 256, 512], BasicBlocks, strides
1, 2, 4, 8, 16, 32; `level_root` on levels 3-5; 1x1 roots. DLAUp aggregates the last three
levels (scales 1, 2, 4) with IDA nodes that are modulated deformable convs, and returns the
stride-8/16/32 maps (128/256/512 channels for DLA-34). Module and parameter names follow the
released PyTorch names (`base.level3.tree1.root.conv` -> `base/level3/tree1/root/conv`).

One faithful oddity: a multi-level Tree computes `project(bottom)` and then hands it to its
sub-tree, which recomputes its own residual and ignores it. The projection's parameters exist
in the released checkpoint, so we build it too (its output is unused and compiled away).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from dmtrack_jax.models.layers import (
    ConvBN,
    DeformConvBlock,
    DepthwiseUpsample,
    batch_norm,
    conv,
)

Dtype = Any


def max_pool(x, stride: int):
    """PyTorch `MaxPool2d(stride, stride)`: no padding, odd trailing rows dropped."""
    return nn.max_pool(x, (stride, stride), strides=(stride, stride), padding="VALID")


class BasicBlock(nn.Module):
    features: int
    stride: int = 1
    conv_algorithm: str = "direct"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, residual=None, train: bool = False):
        residual = x if residual is None else residual
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        out = conv(self.features, 3, self.stride, name="conv1", algorithm=self.conv_algorithm,
                   **kw)(x)
        out = nn.relu(batch_norm(train, "bn1", **kw)(out))
        out = conv(self.features, 3, 1, name="conv2", algorithm=self.conv_algorithm, **kw)(out)
        out = batch_norm(train, "bn2", **kw)(out)
        return nn.relu(out + residual)


class Root(nn.Module):
    features: int
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, children: Sequence, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        x = conv(self.features, 1, name="conv", **kw)(jnp.concatenate(children, axis=-1))
        return nn.relu(batch_norm(train, "bn", **kw)(x))


class Tree(nn.Module):
    levels: int
    in_channels: int
    features: int
    stride: int = 1
    level_root: bool = False
    conv_algorithm: str = "direct"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, children=None, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        blocks = dict(conv_algorithm=self.conv_algorithm, **kw)
        children = [] if children is None else children
        bottom = max_pool(x, self.stride) if self.stride > 1 else x
        if self.in_channels != self.features:
            residual = ConvBN(self.features, 1, relu=False, name="project", **kw)(bottom, train)
        else:
            residual = bottom
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            x1 = BasicBlock(self.features, self.stride, name="tree1", **blocks)(x, residual, train)
            x2 = BasicBlock(self.features, 1, name="tree2", **blocks)(x1, None, train)
            return Root(self.features, name="root", **kw)([x2, x1, *children], train)
        x1 = Tree(self.levels - 1, self.in_channels, self.features, self.stride,
                  name="tree1", **blocks)(x, None, train)
        children.append(x1)
        return Tree(self.levels - 1, self.features, self.features, 1,
                    name="tree2", **blocks)(x1, children, train)


class DLABase(nn.Module):
    """The DLA trunk: returns the six level outputs (strides 1, 2, 4, 8, 16, 32)."""

    levels: Sequence[int] = (1, 1, 1, 2, 2, 1)
    channels: Sequence[int] = (16, 32, 64, 128, 256, 512)
    conv_algorithm: str = "direct"  # 3x3 stride-1 convs: see layers.conv
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype,
                  conv_algorithm=self.conv_algorithm)
        c = self.channels
        x = ConvBN(c[0], 7, name="base_layer", **kw)(x, train)
        outputs = []
        # level0 and level1 are plain conv levels (levels[i] convs each).
        for i, (stride, cin, cout) in enumerate(((1, c[0], c[0]), (2, c[0], c[1]))):
            for j in range(self.levels[i]):
                x = ConvBN(cout, 3, stride if j == 0 else 1, name=f"level{i}_{j}", **kw)(
                    x, train)
            outputs.append(x)
        for i in range(2, 6):
            x = Tree(self.levels[i], c[i - 1], c[i], 2, level_root=i >= 3,
                     name=f"level{i}", **kw)(x, None, train)
            outputs.append(x)
        return outputs


class IDAUp(nn.Module):
    """Iterative deep aggregation of layers[start+1:] into layers[start]'s resolution."""

    features: int
    up_factors: Sequence[int]
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, layers: list, start: int, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        for i in range(start + 1, len(layers)):
            n = i - start
            x = DeformConvBlock(self.features, name=f"proj_{n}", **kw)(layers[i], train)
            x = DepthwiseUpsample(self.up_factors[n], name=f"up_{n}", **kw)(x)
            layers[i] = DeformConvBlock(self.features, name=f"node_{n}", **kw)(
                x + layers[i - 1], train)
        return layers


class DLAUp(nn.Module):
    """CenterNet's DLAUp over the last len(channels) levels; returns fine-to-coarse maps."""

    channels: Sequence[int] = (128, 256, 512)
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, layers: list, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        layers = list(layers)
        n = len(self.channels)
        scales = [2**i for i in range(n)]
        outputs = [layers[-1]]
        for i in range(n - 1):
            j = n - i - 2  # index into channels / scales of the level being aggregated into
            up = [scales[k] // scales[j] for k in range(j, n)]
            layers = IDAUp(self.channels[j], up, name=f"ida_{i}", **kw)(
                layers, len(layers) - i - 2, train)
            for k in range(j + 1, n):
                scales[k] = scales[j]
            outputs.insert(0, layers[-1])
        return outputs


class DLASeg(nn.Module):
    """Backbone: DLA trunk + DLAUp. Returns (all six trunk levels, [P3_in, P4_in, P5_in])."""

    levels: Sequence[int] = (1, 1, 1, 2, 2, 1)
    channels: Sequence[int] = (16, 32, 64, 128, 256, 512)
    first_level: int = 3
    conv_algorithm: str = "direct"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        trunk = DLABase(self.levels, self.channels, self.conv_algorithm, name="base", **kw)(
            x, train)
        pyramid = DLAUp(tuple(self.channels[self.first_level:]), name="dla_up", **kw)(
            trunk[self.first_level:], train)
        return trunk, pyramid
