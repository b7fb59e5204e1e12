"""Train state and the sharded, jitted training steps.

Two steps alternate (as the config says): the SOT pair step (detection losses, cross-query:
each (image, target) pair has only that target as foreground) and the identity step (re-id
cross-entropy). The FairMOT uncertainty weighting L = 0.5 (e^-s_det L_det + e^-s_id L_id +
s_det + s_id) splits additively over the two kinds of batch, so each step optimises its half.

Each step is ONE `jax.jit` with explicit in/out shardings on the mesh and the state donated.
A non-finite loss leaves the state unchanged (the update is masked) and is reported in the
metrics, so the loop can stop with the last good state and checkpoint intact.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from dmtrack_jax import losses
from dmtrack_jax.train import sharding as shd

S_DET_INIT = -1.85
S_ID_INIT = -1.05


@flax.struct.dataclass
class TrainState:
    step: jax.Array
    params: Any  # {"model": ..., "reid_classifier": {...}, "uncertainty": {...}}
    batch_stats: Any
    opt_state: Any
    rng: jax.Array


def _dummy_inputs(image_hw, num_targets):
    h, w = image_hw
    images = jnp.zeros((1, h, w, 3), jnp.float32)
    boxes = jnp.tile(jnp.asarray([[[4.0, 4.0, 28.0, 28.0]]], jnp.float32), (1, num_targets, 1))
    return images, boxes


def init_state_fn(model, tx: optax.GradientTransformation, config) -> Callable:
    """Returns rng -> TrainState (pure; meant for eval_shape and jit with out_shardings)."""
    reid_dim = config.model.reid_dim
    num_ids = config.loss.num_ids

    def init(rng):
        model_rng, cls_rng, state_rng = jax.random.split(rng, 3)
        images, boxes = _dummy_inputs((64, 64), 1)
        variables = model.init(model_rng, images, boxes, images, with_embeddings=True)
        params = {"model": variables["params"]}
        if reid_dim > 0 and num_ids > 0:  # num_ids 0: no identity data, detection only
            params["reid_classifier"] = {
                "kernel": jax.random.normal(cls_rng, (reid_dim, num_ids), jnp.float32) * 0.01,
                "bias": jnp.zeros((num_ids,), jnp.float32),
            }
            params["uncertainty"] = {"s_det": jnp.asarray(S_DET_INIT, jnp.float32),
                                     "s_id": jnp.asarray(S_ID_INIT, jnp.float32)}
        return TrainState(step=jnp.asarray(0, jnp.int32), params=params,
                          batch_stats=variables.get("batch_stats", {}),
                          opt_state=tx.init(params), rng=state_rng)

    return init


_INIT_CACHE: dict = {}


def create_train_state(model, tx, config, mesh, rng):
    """Initialises the state directly into its shardings (shape first, then a jitted init)."""
    key = _cache_key(config, mesh)
    if key not in _INIT_CACHE:
        init = init_state_fn(model, tx, config)
        shapes = jax.eval_shape(init, rng)
        shardings = shd.state_shardings(mesh, shapes)
        _INIT_CACHE[key] = (jax.jit(init, out_shardings=shardings), shardings)
    init, shardings = _INIT_CACHE[key]
    return init(rng), shardings


def _apply_if_finite(state: TrainState, loss, grads, new_batch_stats, tx) -> TrainState:
    updates, new_opt_state = tx.update(grads, state.opt_state, state.params)
    new_params = optax.apply_updates(state.params, updates)
    finite = jnp.isfinite(loss)
    keep = lambda new, old: jax.tree_util.tree_map(  # noqa: E731
        lambda a, b: jnp.where(finite, a, b), new, old)
    return state.replace(
        step=state.step + 1,
        params=keep(new_params, state.params),
        opt_state=keep(new_opt_state, state.opt_state),
        batch_stats=keep(new_batch_stats, state.batch_stats),
    )


def sot_loss_fn(model, config, params, batch_stats, batch):
    variables = {"params": params["model"], "batch_stats": batch_stats}
    outputs, mutated = model.apply(
        variables, batch["template_image"], batch["template_boxes"], batch["search_image"],
        batch["box_valid"], train=True, mutable=["batch_stats"])
    outputs = jax.tree_util.tree_map(lambda x: x.astype(jnp.float32), outputs)
    det, parts = losses.detection_loss(outputs, batch["search_boxes"], batch["box_valid"],
                                       config.loss, tuple(model.strides))
    total = det
    if "uncertainty" in params:
        s_det = params["uncertainty"]["s_det"]
        total = 0.5 * (jnp.exp(-s_det) * det + s_det)
    metrics = {"loss": total, "det_loss": det, **parts}
    return total, (metrics, mutated["batch_stats"])


def reid_loss_fn(model, config, params, batch_stats, batch):
    variables = {"params": params["model"], "batch_stats": batch_stats}
    embeddings, mutated = model.apply(variables, batch["image"], train=True,
                                      method=model.embed, mutable=["batch_stats"])
    ids = jnp.where(batch["box_valid"], batch["ids"], -1)
    sampled = losses.embeddings_at_boxes(embeddings, batch["boxes"])  # (B, N, D)
    classifier = params["reid_classifier"]
    id_loss = losses.reid_loss(sampled.reshape(-1, sampled.shape[-1]), ids.reshape(-1),
                               classifier["kernel"], classifier["bias"], config.loss.num_ids)
    s_id = params["uncertainty"]["s_id"]
    total = 0.5 * (jnp.exp(-s_id) * id_loss + s_id)
    return total, ({"loss": total, "id_loss": id_loss}, mutated["batch_stats"])


def make_step(loss_fn, model, tx, config, mesh, state_shardings, batch_keys) -> Callable:
    """One jitted, sharded, donated step: (state, batch) -> (state, metrics)."""
    batch_sharding = shd.batch_sharding(mesh)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())

    def step(state: TrainState, batch):
        grad_fn = jax.value_and_grad(functools.partial(loss_fn, model, config), has_aux=True)
        (loss, (metrics, new_bs)), grads = grad_fn(state.params, state.batch_stats, batch)
        new_state = _apply_if_finite(state, loss, grads, new_bs, tx)
        metrics = dict(metrics, grad_norm=optax.global_norm(grads))
        return new_state, metrics

    return jax.jit(step,
                   in_shardings=(state_shardings, {k: batch_sharding for k in batch_keys}),
                   out_shardings=(state_shardings, replicated),
                   donate_argnums=(0,))


SOT_KEYS = ("template_image", "template_boxes", "search_image", "search_boxes", "box_valid")
REID_KEYS = ("image", "boxes", "ids", "box_valid")


_STEP_CACHE: dict = {}


def _cache_key(config, mesh) -> tuple:
    # Everything the traced step depends on: model, loss, optimiser (and the mesh).
    parts = tuple(config[k].to_json() for k in ("model", "loss", "optim"))
    return parts + (mesh.shape_tuple, tuple(d.id for d in mesh.devices.flat))


def make_train_steps(model, tx, config, mesh, state_shardings):
    """(sot_step, reid_step or None); cached per (config, mesh) so that a process that trains
    several times (tests, restarts within one process) compiles each step only once."""
    key = _cache_key(config, mesh)
    if key not in _STEP_CACHE:
        sot = make_step(sot_loss_fn, model, tx, config, mesh, state_shardings, SOT_KEYS)
        reid = (make_step(reid_loss_fn, model, tx, config, mesh, state_shardings, REID_KEYS)
                if config.model.reid_dim > 0 and config.loss.num_ids > 0 else None)
        _STEP_CACHE[key] = (sot, reid)
    return _STEP_CACHE[key]


def to_host_metrics(metrics) -> dict:
    return {k: float(np.asarray(v)) for k, v in jax.device_get(metrics).items()}
