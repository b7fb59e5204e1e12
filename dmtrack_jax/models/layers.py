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
from dmtrack_jax.ops.winograd import (conv3x3_winograd_transformed, resolve_conv_algorithm,
                                      winograd_kernel)

Dtype = Any

# PyTorch's default BatchNorm momentum 0.1 is flax's 0.9; eps 1e-5 in both.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

kaiming_normal = nn.initializers.variance_scaling(2.0, "fan_out", "normal")

# Variable collection of the transformed Winograd kernels (`Conv3x3`): derived from `params`,
# never trained or saved; see `models.with_winograd_kernels`.
WINOGRAD_COLLECTION = "winograd"


class Conv3x3(nn.Module):
    """3x3 conv, stride 1, padding 1: the parameters of `nn.Conv` (`kernel`, optional `bias`;
    same shapes, initialisers and names), computed by XLA's convolution or by Winograd
    F(2x2, 3x3) (`algorithm`, see ops/winograd.py)."""

    features: int
    algorithm: str = "direct"  # "auto" | "direct" | "winograd"
    use_bias: bool = False
    kernel_init: Callable = kaiming_normal
    bias_init: Callable = nn.initializers.zeros
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, (3, 3, x.shape[-1], self.features),
                            self.param_dtype).astype(self.dtype)
        x = x.astype(self.dtype)
        if resolve_conv_algorithm(self.algorithm, x.shape[-1], self.dtype) == "winograd":
            y = conv3x3_winograd_transformed(x, self._winograd_kernel(kernel))
        else:
            batched = x.reshape(-1, *x.shape[-3:])
            y = jax.lax.conv_general_dilated(batched, kernel, (1, 1), ((1, 1), (1, 1)),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            y = y.reshape(*x.shape[:-1], self.features)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,),
                               self.param_dtype).astype(self.dtype)
        return y

    def _winograd_kernel(self, kernel):
        """G g G^T of the kernel: read from the 'winograd' collection where the caller passed
        it (`models.with_winograd_kernels`, computed once for fixed inference weights), else
        computed here, and stored there when that collection is mutable."""
        if self.has_variable(WINOGRAD_COLLECTION, "kernel"):
            return self.get_variable(WINOGRAD_COLLECTION, "kernel")
        u = winograd_kernel(kernel)
        # Not at `init`: there every collection is mutable, and the transforms must never
        # reach the saved variables.
        if self.is_mutable_collection(WINOGRAD_COLLECTION) and not self.is_initializing():
            self.put_variable(WINOGRAD_COLLECTION, "kernel", u)
        return u


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
    algorithm: str = "direct",
) -> nn.Module:
    """A 2-D convolution with PyTorch padding semantics (default pad = kernel // 2).

    `algorithm` applies to 3x3 stride-1 convs only (`Conv3x3`); the others are `nn.Conv`.
    Both hold the same parameters under the same names.
    """
    pad = kernel // 2 if padding is None else padding
    if kernel == 3 and stride == 1 and pad == 1 and algorithm != "direct":
        return Conv3x3(features, algorithm, use_bias, kernel_init, bias_init, dtype,
                       param_dtype, name=name)
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
    conv_algorithm: str = "direct"
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = conv(self.features, self.kernel, self.stride, name="conv", dtype=self.dtype,
                 param_dtype=self.param_dtype, algorithm=self.conv_algorithm)(x)
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

    `kernel[a, b, 0, c]` holds PyTorch's `weight[c, 0, a, b]`. Computed in polyphase form, not
    as a grouped convolution of the stride-dilated input (XLA:CPU ran that at ~1% of its conv
    throughput: 44 ms for one 128-channel 32x46 map). The transposed conv writes
    `x[i] * w[t]` to output `i * f - p + t`; with a kernel of 2f taps, output `o` with
    `o + p = q * f + r` (0 <= r < f) receives exactly `x[q] * w[r] + x[q - 1] * w[r + f]`
    per axis, i.e. four shifted copies of the input times a per-phase, per-channel weight.
    """

    factor: int = 2
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        *batch, height, width, channels = x.shape
        f = self.factor
        p = f // 2
        kernel = self.param("kernel", bilinear_upsample_init, (2 * f, 2 * f, 1, channels),
                            self.param_dtype)
        w = kernel[:, :, 0, :].astype(self.dtype)  # (2f, 2f, C)
        x = x.astype(self.dtype)
        pad = [(0, 0)] * len(batch) + [(1, 1), (1, 1), (0, 0)]
        xp = jnp.pad(x, pad)  # xp[..., q + 1, :, :] = x[q]; q runs over 0..H (x[H] = 0)
        out = None
        for a in (0, 1):  # input row q - a, kernel rows r + a f
            for b in (0, 1):
                shifted = xp[..., 1 - a:2 - a + height, 1 - b:2 - b + width, :]  # (H+1, W+1)
                phase_w = w[a * f:(a + 1) * f, b * f:(b + 1) * f, :]  # (f, f, C): [r_y, r_x]
                term = shifted[..., :, None, :, None, :] * phase_w[:, None, :, :]
                out = term if out is None else out + term
        # out[..., q_y, r_y, q_x, r_x, c] is output (q_y f + r_y - p, q_x f + r_x - p).
        out = out.reshape(*batch, (height + 1) * f, (width + 1) * f, channels)
        return out[..., p:p + f * height, p:p + f * width, :]


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
