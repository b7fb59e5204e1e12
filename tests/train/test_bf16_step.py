"""bf16 compute with f32 params: the step trains, params and optimiser state stay float32,
and the bf16 loss is close to the float32 loss of the same params and batch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from batches import micro_config, sot_batch
from dmtrack_jax.models import build_model
from dmtrack_jax.train import sharding as shd
from dmtrack_jax.train.optimizer import make_optimizer
from dmtrack_jax.train.step import create_train_state, make_train_steps, sot_loss_fn


def test_bf16_compute_keeps_f32_params_and_tracks_the_f32_loss():
    config = micro_config()
    config.model.dtype = "bfloat16"
    mesh = shd.make_mesh(1, jax.devices()[:1])
    model = build_model(config.model)
    tx = make_optimizer(config.optim)
    state, shardings = create_train_state(model, tx, config, mesh, jax.random.PRNGKey(0))
    batch = shd.global_batch(mesh, sot_batch(0, 2))

    f32_model = build_model(micro_config().model)
    f32_loss, _ = jax.jit(functools.partial(sot_loss_fn, f32_model, micro_config()))(
        state.params, state.batch_stats, batch)

    sot_step, _ = make_train_steps(model, tx, config, mesh, shardings)
    new_state, metrics = sot_step(state, batch)
    assert np.isfinite(float(metrics["loss"]))
    np.testing.assert_allclose(float(metrics["loss"]), float(f32_loss), rtol=0.05)
    for leaf in jax.tree_util.tree_leaves((new_state.params, new_state.opt_state)):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32
    kernel = new_state.params["model"]["bbox_head"]["fcos_cls"]["bias"]
    assert float(jnp.max(jnp.abs(kernel - np.log(0.01 / 0.99)))) > 1e-5  # it trained
