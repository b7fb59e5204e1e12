"""Device mesh, shardings and multi-host helpers for the training step.

Mesh axes: `data` (batch) and `model` (size 1 unless configured). Parameters are replicated,
except the controllers' large Dense kernels (256 x 65536 in the paper model), which are split on
their output axis over `model` when that axis has more than one device. Batches are split on
`data`; every process feeds only its local rows and `global_batch` assembles the global array.
"""

from __future__ import annotations

import logging
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

# Dense kernels at least this large are sharded over `model` (only the controllers qualify).
MODEL_SHARD_MIN_SIZE = 1 << 20


def maybe_initialize_distributed(config) -> None:
    """Calls `jax.distributed.initialize` once when `config.distributed.enabled` is set."""
    dist = config.get("distributed")
    if dist is None or not dist.enabled:
        return
    kwargs = {}
    if dist.coordinator_address:
        kwargs = dict(coordinator_address=dist.coordinator_address,
                      num_processes=dist.num_processes, process_id=dist.process_id)
    if dist.get("local_device_ids"):
        kwargs["local_device_ids"] = list(dist.local_device_ids)
    try:
        jax.distributed.initialize(**kwargs)
    except RuntimeError as err:
        if "already" not in str(err):
            raise
    logging.info("jax.distributed: process %d of %d, %d local / %d global devices",
                 jax.process_index(), jax.process_count(), jax.local_device_count(),
                 jax.device_count())


def make_mesh(model_axis: int = 1, devices=None) -> Mesh:
    """A (data, model) mesh over all devices (of all processes), or over `devices`."""
    if devices is None:
        count = jax.device_count()
    else:
        devices = list(devices)
        count = len(devices)
    if model_axis < 1 or count % model_axis:
        raise ValueError(f"mesh.model_axis={model_axis} does not divide {count} devices")
    shape = (count // model_axis, model_axis)
    # Auto axes: the shardings are given at the jit boundary and XLA propagates them inside
    # (the model code is written per example and does not annotate shardings itself).
    auto = (AxisType.Auto, AxisType.Auto)
    if devices is None:
        return jax.make_mesh(shape, ("data", "model"), axis_types=auto)
    return Mesh(np.asarray(devices).reshape(shape), ("data", "model"), axis_types=auto)


def _param_spec(path, leaf, model_axis: int) -> P:
    names = [getattr(p, "key", str(p)) for p in path]
    shape = getattr(leaf, "shape", ())
    if (model_axis > 1 and "controller" in names and names[-1] == "kernel"
            and int(np.prod(shape)) >= MODEL_SHARD_MIN_SIZE and shape[-1] % model_axis == 0):
        return P(*([None] * (len(shape) - 1)), "model")
    return P()


def state_shardings(mesh: Mesh, state_shapes: Any):
    """A sharding for every leaf of the train state (params and their optimizer moments alike)."""
    model_axis = mesh.shape["model"]

    def spec(path, leaf):
        return NamedSharding(mesh, _param_spec(path, leaf, model_axis))

    return jax.tree_util.tree_map_with_path(spec, state_shapes)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def global_batch(mesh: Mesh, local_batch: dict) -> dict:
    """Assembles process-local numpy rows into global arrays split over `data`."""
    sharding = batch_sharding(mesh)
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
            for k, v in local_batch.items()}


def check_batch_divides(global_batch_size: int, mesh: Mesh) -> None:
    data = mesh.shape["data"]
    if global_batch_size % data:
        raise ValueError(f"the global batch size {global_batch_size} is not divisible by the "
                         f"{data} devices of the mesh's data axis")
