"""Shared fixtures: one tiny DMTrack initialised once per test session (compiles are costly)."""

import jax
import pytest

from configs import tiny
from dmtrack_jax.models import build_model, init_variables


@pytest.fixture(scope="session")
def tiny_setup():
    config = tiny.get_config()
    model = build_model(config.model)
    h, w = config.tracker.input_size
    variables = jax.jit(lambda rng: init_variables(model, rng, (h, w)))(jax.random.PRNGKey(0))
    return config, model, variables
