"""The optimiser against PyTorch SGD semantics written out in numpy float64."""

import numpy as np
import jax
import jax.numpy as jnp

from configs import dmtrack_dla34, dmtrack_gs_official
from dmtrack_jax.train.optimizer import make_optimizer, make_schedule, param_group


def _optim(**overrides):
    config = dmtrack_dla34.optim_config()
    config.update(overrides)
    return config


def _run_optimizer(config, params, grads):
    """Applies `make_optimizer(config)` to float32 copies of `params` for each of `grads`."""
    tx = make_optimizer(config)
    jparams = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), params)
    state = tx.init(jparams)
    for g in grads:
        updates, state = tx.update(jax.tree_util.tree_map(jnp.asarray, g), state, jparams)
        jparams = jax.tree_util.tree_map(lambda p, u: p + u, jparams, updates)
    return jparams


def _assert_trees_close(got_tree, want_tree):
    for (path, got), want in zip(jax.tree_util.tree_leaves_with_path(got_tree),
                                 jax.tree_util.tree_leaves(want_tree)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6, err_msg=str(path))


def test_schedules_of_both_recipes():
    paper = make_schedule(dmtrack_dla34.get_config().optim)
    got = [float(paper(s)) for s in (0, 499, 500, 299_999, 300_000, 339_999, 340_000)]
    np.testing.assert_allclose(got, [1e-3 / 3000, 1e-3 / 3000, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5],
                               rtol=1e-6)
    released = make_schedule(dmtrack_gs_official.get_config().optim)
    got = [float(released(s)) for s in (10, 500, 659_999, 660_000, 690_000)]
    np.testing.assert_allclose(got, [2.5e-4 / 3000, 2.5e-4, 2.5e-4, 2.5e-5, 2.5e-6], rtol=1e-6)
    linear = make_schedule(_optim(warmup="linear", warmup_steps=10, warmup_ratio=0.1))
    # mmcv linear warmup: lr * (1 - (1 - step / n) * (1 - ratio))
    np.testing.assert_allclose(float(linear(5)), 1e-3 * (1 - 0.5 * 0.9), rtol=1e-6)


def test_param_groups():
    assert param_group(("model", "neck", "fpn_convs_0", "kernel")) == "kernel"
    assert param_group(("model", "neck", "fpn_convs_0", "bias")) == "bias"
    assert param_group(("model", "backbone", "base_layer", "bn", "bias")) == "norm"
    assert param_group(("model", "backbone", "x", "actf", "scale")) == "norm"
    assert param_group(("model", "bbox_head", "cls_convs_0", "gn", "scale")) == "norm"
    assert param_group(("model", "bbox_head", "scales_0", "scale")) == "no_decay"
    assert param_group(("uncertainty", "s_det")) == "no_decay"


def _problem(seed: int, norm: str):
    """A conv kernel + bias and a norm's scale + bias, and 3 steps of random gradients."""
    rng = np.random.default_rng(seed)
    params = {"conv": {"kernel": rng.normal(size=(3, 2)), "bias": rng.normal(size=2)},
              norm: {"scale": rng.normal(size=2), "bias": rng.normal(size=2)}}
    grads = [jax.tree_util.tree_map(lambda p: rng.normal(size=p.shape) * 1.5, params)
             for _ in range(3)]
    return params, grads


def test_three_steps_equal_pytorch_sgd():
    """clip -> (+wd*p on kernels) -> momentum buffer -> p -= lr * mult * buf, 3 steps."""
    config = _optim(learning_rate=0.1, warmup_steps=1, warmup_ratio=0.5, grad_clip_norm=2.0,
                    weight_decay=0.01, decay_steps=(2,), decay_factor=0.1)
    params, grads = _problem(seed=0, norm="bn")
    jparams = _run_optimizer(config, params, grads)

    ref = jax.tree_util.tree_map(lambda a: a.copy(), params)
    bufs = jax.tree_util.tree_map(np.zeros_like, params)
    lrs = [0.1 * 0.5, 0.1, 0.01]  # warmup at step 0, base at 1, decayed from step 2
    for step, g in enumerate(grads):
        norm = np.sqrt(sum(np.sum(x ** 2) for x in jax.tree_util.tree_leaves(g)))
        factor = min(1.0, 2.0 / norm)
        for module, leaf, decay, mult in (("conv", "kernel", 0.01, 1.0), ("conv", "bias", 0, 2.0),
                                          ("bn", "scale", 0, 1.0), ("bn", "bias", 0, 1.0)):
            d = g[module][leaf] * factor + decay * ref[module][leaf]
            bufs[module][leaf] = 0.9 * bufs[module][leaf] + d
            ref[module][leaf] = ref[module][leaf] - lrs[step] * mult * bufs[module][leaf]
    _assert_trees_close(jparams, ref)


def test_three_steps_equal_pytorch_adamw():
    """PyTorch AdamW: p *= 1 - lr*wd (kernels only); m, v with bias correction;
    p -= lr * mult * m_hat / (sqrt(v_hat) + eps). Gradients clipped first."""
    config = _optim(name="adamw", learning_rate=0.01, warmup_steps=1, warmup_ratio=0.5,
                    grad_clip_norm=2.0, weight_decay=0.05, decay_steps=(2,), decay_factor=0.1,
                    b1=0.8, b2=0.95, eps=1e-3)
    params, grads = _problem(seed=1, norm="gn")
    jparams = _run_optimizer(config, params, grads)

    ref = jax.tree_util.tree_map(lambda a: a.copy(), params)
    m = jax.tree_util.tree_map(np.zeros_like, params)
    v = jax.tree_util.tree_map(np.zeros_like, params)
    lrs = [0.01 * 0.5, 0.01, 0.001]
    for step, g in enumerate(grads):
        t = step + 1
        norm = np.sqrt(sum(np.sum(x ** 2) for x in jax.tree_util.tree_leaves(g)))
        factor = min(1.0, 2.0 / norm)
        for module, leaf, decay, mult in (("conv", "kernel", 0.05, 1.0), ("conv", "bias", 0, 2.0),
                                          ("gn", "scale", 0, 1.0), ("gn", "bias", 0, 1.0)):
            d = g[module][leaf] * factor
            m[module][leaf] = 0.8 * m[module][leaf] + 0.2 * d
            v[module][leaf] = 0.95 * v[module][leaf] + 0.05 * d ** 2
            m_hat = m[module][leaf] / (1 - 0.8 ** t)
            v_hat = v[module][leaf] / (1 - 0.95 ** t)
            p = ref[module][leaf] * (1 - lrs[step] * decay)
            ref[module][leaf] = p - lrs[step] * mult * m_hat / (np.sqrt(v_hat) + 1e-3)
    _assert_trees_close(jparams, ref)


def test_unknown_optimizer_is_refused():
    import pytest
    with pytest.raises(ValueError, match="optim.name"):
        make_optimizer(_optim(name="adam"))
    with pytest.raises(ValueError, match="optim.warmup"):
        make_schedule(_optim(warmup="cosine"))(0)
