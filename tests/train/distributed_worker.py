"""One process of the two-process test: `python distributed_worker.py PID NPROC PORT OUT`.

Each process owns one CPU device and feeds only its own row of the global batch; the step runs
with gloo collectives across the processes; process 0 saves the resulting params.
"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from batches import paper_optim_micro_config, sot_batch  # noqa: E402

from dmtrack_jax.models import build_model  # noqa: E402
from dmtrack_jax.train import sharding as shd  # noqa: E402
from dmtrack_jax.train.optimizer import make_optimizer  # noqa: E402
from dmtrack_jax.train.step import create_train_state, make_train_steps  # noqa: E402


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
    config = paper_optim_micro_config()
    config.distributed.enabled = True
    config.distributed.coordinator_address = f"localhost:{port}"
    config.distributed.num_processes = num_processes
    config.distributed.process_id = process_id
    shd.maybe_initialize_distributed(config)
    assert jax.process_count() == num_processes and jax.device_count() == num_processes

    mesh = shd.make_mesh(1)
    model = build_model(config.model)
    tx = make_optimizer(config.optim)
    state, shardings = create_train_state(model, tx, config, mesh, jax.random.PRNGKey(0))
    sot_step, _ = make_train_steps(model, tx, config, mesh, shardings)
    full = sot_batch(0, 8, valid_targets=[2, 1] * 4)
    rows = 8 // num_processes
    local = {k: v[process_id * rows:(process_id + 1) * rows] for k, v in full.items()}
    state, metrics = sot_step(state, shd.global_batch(mesh, local))
    params = jax.tree_util.tree_leaves(jax.device_get(state.params))
    if process_id == 0:
        np.savez(out, loss=np.asarray(jax.device_get(metrics["loss"])),
                 *[np.asarray(p) for p in params])
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
