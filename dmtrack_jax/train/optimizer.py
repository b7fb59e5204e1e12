"""SGD with momentum as mmcv/PyTorch run it (or AdamW), parameter groups, warmup and step decay.

PyTorch's SGD: d = g + wd * p;  buf = momentum * buf + d;  p -= lr * buf. Gradients are clipped
to a global L2 norm first (mmcv's OptimizerHook), weight decay is applied only to conv/dense
kernels (not to biases, norm scales/biases or the uncertainty weights), and biases (of convs and
dense layers, not of norms) get twice the learning rate. The optax chain below is that, in order.

`optim.name = "adamw"` swaps the momentum for Adam's moments (b1, b2, eps) and the coupled
weight decay for a decoupled one (p -= lr * wd * p, kernels only), as PyTorch's AdamW does; the
clipping, groups and schedule are the same. The paper and the released code use SGD; AdamW is
for the tiny toy config, whose few thousand CPU steps SGD does not get far with.

Schedule (mmcv's iteration-based step policy): lr = base * factor ** (#boundaries passed), and
during warmup either a constant lr = base * warmup_ratio or a linear ramp from it.
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import optax

# Norm modules of our model: BatchNorm `bn`, `bn1`, `bn2`, DCN blocks' `actf`, GroupNorm `gn`.
NORM_MODULE = re.compile(r"^(bn\d*|gn|actf|BatchNorm_\d+|GroupNorm_\d+|LayerNorm_\d+)$")
GROUPS = ("kernel", "bias", "norm", "no_decay")


def param_group(path: tuple[str, ...]) -> str:
    """'kernel' (decayed), 'bias' (lr x bias_lr_mult, no decay), 'norm' or 'no_decay'."""
    leaf = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if path and path[0] == "uncertainty":
        return "no_decay"
    if NORM_MODULE.match(parent):
        return "norm"
    if leaf == "bias":
        return "bias"
    if leaf in ("kernel", "weight"):
        return "kernel"
    return "no_decay"  # e.g. the per-level Scale of the head


def param_groups(params) -> Any:
    def label(path, _):
        return param_group(tuple(getattr(p, "key", str(p)) for p in path))
    return jax.tree_util.tree_map_with_path(label, params)


def make_schedule(optim_config) -> optax.Schedule:
    c = optim_config
    boundaries = tuple(int(b) for b in c.decay_steps)
    base = float(c.learning_rate)

    def schedule(step):
        step = jnp.asarray(step)
        passed = sum((step >= b).astype(jnp.float32) for b in boundaries) if boundaries else 0.0
        lr = base * jnp.power(float(c.decay_factor), passed)
        if c.warmup_steps > 0:
            ratio = float(c.warmup_ratio)
            if c.warmup == "constant":
                warm = lr * ratio
            elif c.warmup == "linear":
                k = (1.0 - step / c.warmup_steps) * (1.0 - ratio)
                warm = lr * (1.0 - k)
            else:
                raise ValueError(f"optim.warmup must be 'constant' or 'linear', got {c.warmup!r}")
            lr = jnp.where(step < c.warmup_steps, warm, lr)
        return lr

    return schedule


OPTIMIZERS = ("sgd", "adamw")


def make_optimizer(optim_config) -> optax.GradientTransformation:
    c = optim_config
    if c.name not in OPTIMIZERS:
        raise ValueError(f"optim.name must be one of {OPTIMIZERS} ('sgd' is the paper's and the "
                         f"released recipe), got {c.name!r}")
    schedule = make_schedule(c)
    lr_mult = {"kernel": 1.0, "bias": float(c.bias_lr_mult), "norm": 1.0, "no_decay": 1.0}
    decay = optax.masked(
        optax.add_decayed_weights(float(c.weight_decay)),
        lambda params: jax.tree_util.tree_map(lambda g: g == "kernel", param_groups(params)))
    parts = []
    if c.grad_clip_norm and c.grad_clip_norm > 0:
        parts.append(optax.clip_by_global_norm(float(c.grad_clip_norm)))
    if c.name == "sgd":
        if c.weight_decay > 0:
            parts.append(decay)  # coupled: enters the momentum buffer
        parts.append(optax.trace(decay=float(c.momentum), nesterov=False))
    else:
        parts.append(optax.scale_by_adam(b1=float(c.get("b1", 0.9)), b2=float(c.get("b2", 0.999)),
                                         eps=float(c.get("eps", 1e-8))))
        if c.weight_decay > 0:
            parts.append(decay)  # decoupled: added to the Adam direction, scaled by lr below
    parts.append(optax.scale_by_schedule(lambda step: -schedule(step)))
    parts.append(optax.multi_transform(
        {g: optax.scale(m) for g, m in lr_mult.items()}, param_groups))
    return optax.chain(*parts)
