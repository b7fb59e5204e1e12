"""Template branch and controllers: from a target box to its per-level fusion kernels.

Template branch: RoIAlign (7x7, sampling ratio 2, aligned) from ONE FPN level chosen by the
box's scale (mmdet's rule, finest_scale 56), then three per-level 1x1 convs 256->256
(`fpn_modulator_l`, bias, no activation) give one template feature per search level.

Controllers (shared across levels) turn a template feature z (7, 7, 256) into what each
integration layer fuses with the search map (see `dmtrack_jax.ops.correlation`):
- dc: a 1x1 conv then global average pooling -> a (Cout, Cin) kernel, output-channel-major;
- hp: the same with Cin outputs -> a per-channel vector;
- dw: a 1x1 conv without pooling -> a (7, 7, Cin) depthwise template;
- cc: a 1x1 conv without pooling -> a (7, 7, Cin, Cout) cross-correlation kernel.
Because conv and pooling are both linear, dc/hp pool first and apply a Dense layer.

The released controllers are 1x1 convs with padding 1: on a 7x7 input the 9x9 output's border
ring holds only the bias, so their pooled value is (49/81) * W mean(z) + b. The switch
`controller_padding_quirk` reproduces that exactly (needed to import the released weights).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

Dtype = Any


def integration_channels(layer: int, head_channels: int, encoder_channels: int) -> int:
    """Channels of the search features at integration layer 1..6 (6 follows the encoder)."""
    if not 1 <= layer <= 6:
        raise ValueError(f"integration layers are numbered 1..6, got {layer}")
    return encoder_channels if layer == 6 else head_channels


def kernel_names(integration_layers: Sequence[int]) -> list[str]:
    """Names of the generated kernels, e.g. layers (1, 6) -> cls1, cls2, reg1, reg2."""
    return [f"{branch}{n}" for branch in ("cls", "reg") for n in
            range(1, len(integration_layers) + 1)]


def controller_output_shape(correlation: str, cin: int, cout: int, roi: int):
    """Shape of one target's fused representation for one level, and its flat size."""
    if correlation == "dc":
        return (cout, cin), cout * cin
    if correlation == "hp":
        return (cin,), cin
    if correlation == "dw":
        return (roi, roi, cin), cin
    if correlation == "cc":
        return (roi, roi, cin, cout), cin * cout
    raise ValueError(f"unknown correlation {correlation!r}; expected one of dc, cc, dw, hp")


class Controllers(nn.Module):
    """All controllers of one model; maps template features (L, S, S, C) to a kernel dict."""

    correlation: str = "dc"
    integration_layers: Sequence[int] = (1, 6)
    head_channels: int = 256
    encoder_channels: int = 32
    padding_quirk: bool = False
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, template_features):
        roi = template_features.shape[-2]
        kernels = {}
        for branch in ("cls", "reg"):
            for n, layer in enumerate(self.integration_layers, start=1):
                channels = integration_channels(layer, self.head_channels, self.encoder_channels)
                shape, flat = controller_output_shape(self.correlation, channels, channels, roi)
                # Init so a generated 1x1 kernel starts near He scaling for its fan-in: a
                # random static part in the bias plus a small template-dependent part.
                dense = nn.Dense(
                    flat,
                    kernel_init=nn.initializers.normal(0.01),
                    bias_init=nn.initializers.normal((2.0 / channels) ** 0.5),
                    dtype=self.dtype,
                    param_dtype=self.param_dtype,
                    name=f"controller_{branch}{n}",
                )
                if self.correlation in ("dc", "hp"):
                    pooled = template_features.mean(axis=(-3, -2))
                    if self.padding_quirk:
                        pooled = pooled * (roi * roi) / float((roi + 2) ** 2)
                    out = dense(pooled)
                else:
                    out = dense(template_features)
                kernels[f"{branch}{n}"] = out.reshape(template_features.shape[:-3] + shape)
        return kernels


class TemplateBranch(nn.Module):
    """The three per-level modulators applied to one RoI feature (…, S, S, C) -> (…, L, S, S, C)."""

    num_levels: int = 3
    features: int = 256
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32

    @nn.compact
    def __call__(self, roi_features):
        outs = [
            nn.Conv(self.features, (1, 1), use_bias=True, dtype=self.dtype,
                    param_dtype=self.param_dtype, name=f"fpn_modulator_{level}")(roi_features)
            for level in range(self.num_levels)
        ]
        return jnp.stack(outs, axis=-4)


def select_level(per_level: Sequence[jax.Array], levels: jax.Array) -> jax.Array:
    """Picks per_level[levels[...]] elementwise: per_level[l] (..., S, S, C), levels (...)."""
    stacked = jnp.stack(per_level, axis=0)
    onehot = jax.nn.one_hot(levels, len(per_level), dtype=stacked.dtype)  # (..., L)
    onehot = jnp.moveaxis(onehot, -1, 0)[..., None, None, None]
    return (stacked * onehot).sum(axis=0)
