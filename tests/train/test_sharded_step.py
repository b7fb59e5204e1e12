"""The jitted, sharded step: 8 simulated devices == 1 device; two JAX processes == one."""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from batches import paper_optim_micro_config, sot_batch
from dmtrack_jax.models import build_model
from dmtrack_jax.train import sharding as shd
from dmtrack_jax.train.optimizer import make_optimizer
from dmtrack_jax.train.step import create_train_state, make_train_steps

HERE = os.path.dirname(os.path.abspath(__file__))


def _one_step(config, devices, batch):
    mesh = shd.make_mesh(config.mesh.model_axis, devices)
    model = build_model(config.model)
    tx = make_optimizer(config.optim)
    state, shardings = create_train_state(model, tx, config, mesh, jax.random.PRNGKey(0))
    sot_step, _ = make_train_steps(model, tx, config, mesh, shardings)
    state, metrics = sot_step(state, shd.global_batch(mesh, batch))
    return jax.device_get(state), jax.device_get(metrics)


@pytest.fixture(scope="module")
def single_device_step():
    config = paper_optim_micro_config()
    return _one_step(config, jax.devices()[:1], sot_batch(0, 8, valid_targets=[2, 1] * 4))


def test_eight_devices_equal_one_device(single_device_step):
    if jax.device_count() < 8:
        pytest.skip("needs 8 simulated CPU devices (XLA_FLAGS set in tests/conftest.py)")
    config = paper_optim_micro_config()
    config.mesh.model_axis = 2  # 4 x 2 mesh: controllers' kernels split over `model`
    state8, metrics8 = _one_step(config, jax.devices()[:8],
                                 sot_batch(0, 8, valid_targets=[2, 1] * 4))
    state1, metrics1 = single_device_step
    np.testing.assert_allclose(metrics8["loss"], metrics1["loss"], rtol=1e-5)
    for tree in ("params", "batch_stats"):
        leaves8 = jax.tree_util.tree_leaves_with_path(getattr(state8, tree))
        leaves1 = jax.tree_util.tree_leaves(getattr(state1, tree))
        assert len(leaves8) == len(leaves1)
        for (path, a), b in zip(leaves8, leaves1):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"{tree} {path}")
    # The step really moved the params (a no-op step would pass the comparison trivially).
    bias = state1.params["model"]["bbox_head"]["fcos_cls"]["bias"]
    assert float(np.max(np.abs(bias - np.log(0.01 / 0.99)))) > 1e-4  # initialised to the prior


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one_process(tmp_path, single_device_step):
    port = _free_port()
    out = tmp_path / "params.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), HERE]))
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "distributed_worker.py"),
                               str(pid), "2", str(port), str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for pid in range(2)]
    logs = [p.communicate(timeout=600)[0].decode() for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    got = np.load(out)
    state, metrics = single_device_step
    np.testing.assert_allclose(got["loss"], metrics["loss"], rtol=1e-5)
    want = jax.tree_util.tree_leaves(state.params)
    arrays = [got[f"arr_{i}"] for i in range(len(want))]
    for a, b in zip(arrays, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
