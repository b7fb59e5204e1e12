"""Shared fixtures: one tiny DMTrack initialised once per test session (compiles are costly).

Eight simulated CPU devices are requested before JAX starts, so the sharded-step tests can
compare a mesh of 8 with a mesh of 1; every other test runs on device 0 as usual.
"""

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

from configs import tiny  # noqa: E402
from dmtrack_jax.models import build_model, init_variables  # noqa: E402


@pytest.fixture(scope="session")
def tiny_setup():
    config = tiny.get_config()
    model = build_model(config.model)
    h, w = config.tracker.input_size
    variables = jax.jit(lambda rng: init_variables(model, rng, (h, w)))(jax.random.PRNGKey(0))
    return config, model, variables
