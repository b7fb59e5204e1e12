"""Small building blocks shared by the backbone, neck and head.

Convolutions use explicit symmetric padding (PyTorch semantics), never 'SAME': for stride 2 on
even inputs 'SAME' pads asymmetrically and would not compute the released network's function.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dmtrack_jax.ops.deform_conv import deform_conv2d, split_offset_mask

Dtype = Any

# PyTorch's default BatchNorm momentum 0.1 is flax's 0.9; eps 1e-5 in both.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

kaiming_normal = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def conv(
    features: int,
    kernel: int,
    stride: int = 1,
    padding: int | None = None,
    use_bias: bool = False,
    name: str | None = None,
    dtype: Dtype = jnp.float32,
    param_dtype: Dtype = jnp.float32,
    kernel_init: Callable = kaiming_normal,
    bias_init: Callable = nn.initializers.zeros,
) -> nn.Conv:
    """A 2-D convolution with PyTorch padding semantics (default pad = kernel // 2)."""
    pad = kernel // 2 if padding is None else padding
    return nn.Conv(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        use_bias=use_bias,
        kernel_init=kernel_init,
        bias_init=bias_init,
        dtype=dtype,
        param_dtype=param_dtype,
        name=name,
    )


def batch_norm(train: bool, name: str, dtype: Dtype, param_dtype: Dtype) -> nn.BatchNorm:
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        dtype=dtype,
        param_dtype=param_dtype,
        name=name,
    )


class ConvBN(nn.Module):
    """conv -> BatchNorm (-> ReLU): the `Sequential(conv, bn[, relu])` of the DLA code."""

    features: int
    kernel: int = 3
    stride: int = 1
    relu: bool = True
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = conv(self.features, self.kernel, self.stride, name="conv", dtype=self.dtype,
                 param_dtype=self.param_dtype)(x)
        x = batch_norm(train, "bn", self.dtype, self.param_dtype)(x)
        return nn.relu(x) if self.relu else x


def bilinear_upsample_init(key, shape, dtype=jnp.float32):
    """CenterNet's `fill_up_weights`: a bilinear kernel, the same for every channel.

    Shape (k, k, 1, C) for a depthwise transposed conv.
    """
    del key
    k = shape[0]
    f = int(np.ceil(k / 2))
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    ramp = 1 - np.abs(np.arange(k) / f - c)
    kernel = np.outer(ramp, ramp)
    return jnp.broadcast_to(jnp.asarray(kernel, dtype)[:, :, None, None], shape)


class DepthwiseUpsample(nn.Module):
    """PyTorch `ConvTranspose2d(C, C, 2f, stride=f, padding=f // 2, groups=C, bias=False)`.

    `kernel[a, b, 0, c]` holds PyTorch's `weight[c, 0, a, b]`. A transposed conv is the
    input dilated by the stride, padded by k - 1 - p, and convolved with the flipped kernel.
    """

    factor: int = 2
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        channels = x.shape[-1]
        k = 2 * self.factor
        p = self.factor // 2
        kernel = self.param("kernel", bilinear_upsample_init, (k, k, 1, channels),
                            self.param_dtype)
        flipped = jnp.flip(kernel, axis=(0, 1)).astype(self.dtype)
        return jax.lax.conv_general_dilated(
            x.astype(self.dtype),
            flipped,
            window_strides=(1, 1),
            padding=((k - 1 - p, k - 1 - p), (k - 1 - p, k - 1 - p)),
            lhs_dilation=(self.factor, self.factor),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=channels,
        )


class ModulatedDeformConv(nn.Module):
    """mmcv's `ModulatedDeformConvPack` (3x3, stride 1, pad 1, one deformable group, bias).

    `conv_offset` is an ordinary 3x3 conv giving 27 channels, initialised to zero so that a new
    layer starts as a plain conv with mask 0.5.
    """

    features: int
    kernel_size: int = 3
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        k = self.kernel_size
        num_points = k * k
        offset_out = conv(3 * num_points, k, use_bias=True, name="conv_offset",
                          kernel_init=nn.initializers.zeros, dtype=self.dtype,
                          param_dtype=self.param_dtype)(x)
        offsets, masks = split_offset_mask(offset_out, num_points)
        kernel = self.param("kernel", kaiming_normal, (k, k, x.shape[-1], self.features),
                            self.param_dtype)
        bias = self.param("bias", nn.initializers.zeros, (self.features,), self.param_dtype)
        y = deform_conv2d(x.astype(self.dtype), offsets, masks, kernel.astype(self.dtype),
                          stride=1, padding=k // 2)
        return y + bias.astype(self.dtype)


class DeformConvBlock(nn.Module):
    """CenterNet's `DeformConv`: DCNv2 (`conv`) -> BatchNorm (`actf`) -> ReLU."""

    features: int
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = ModulatedDeformConv(self.features, dtype=self.dtype, param_dtype=self.param_dtype,
                                name="conv")(x)
        x = batch_norm(train, "actf", self.dtype, self.param_dtype)(x)
        return nn.relu(x)


class Scale(nn.Module):
    """A learnable scalar (mmdet's `Scale`), one per FPN level."""

    init_value: float = 1.0
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        scale = self.param("scale", nn.initializers.constant(self.init_value), (),
                           self.param_dtype)
        return x * scale.astype(x.dtype)
