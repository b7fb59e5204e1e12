"""FPN neck (P3-P5, 256 channels): 1x1 laterals, nearest top-down, 3x3 outputs, no norm."""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from dmtrack_jax.models.layers import conv

Dtype = Any


def resize_nearest(x, size):
    """PyTorch `F.interpolate(x, size, mode='nearest')` on NHWC: src = floor(dst * in / out)."""
    in_h, in_w = x.shape[1], x.shape[2]
    out_h, out_w = size
    rows = (jnp.arange(out_h) * in_h) // out_h
    cols = (jnp.arange(out_w) * in_w) // out_w
    return x[:, rows][:, :, cols]


class FPN(nn.Module):
    features: int = 256
    conv_algorithm: str = "direct"  # the 3x3 output convs: see layers.conv
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, inputs: Sequence):
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype, use_bias=True,
                  kernel_init=nn.initializers.xavier_uniform())
        laterals = [conv(self.features, 1, name=f"lateral_convs_{i}", **kw)(x)
                    for i, x in enumerate(inputs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize_nearest(
                laterals[i], laterals[i - 1].shape[1:3])
        return [conv(self.features, 3, name=f"fpn_convs_{i}", algorithm=self.conv_algorithm,
                     **kw)(x)
                for i, x in enumerate(laterals)]
