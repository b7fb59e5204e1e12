"""Fixtures for the weight-import tests: the PyTorch reference model and a parity check.

The helper modules next to this file are loaded by path (pytest runs with
--import-mode=importlib, so the test folder is not on sys.path).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent
TORCH_SKIP_REASON = ("torch is not installed: it is the optional extra of dmtrack-jax "
                     "(pip install -e .[torch], also in .[test])")

# Parity tolerance of the issue: 1e-4 relative error. Measured against the largest magnitude
# of the reference tensor (an elementwise ratio is meaningless where the value is ~0).
PARITY_RTOL = 1e-4


def load_helper(name: str):
    key = f"_dmtrack_convert_tests_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="session")
def torch_ref():
    """The PyTorch reference module (skips the test where torch cannot be imported)."""
    torch = pytest.importorskip("torch", reason=TORCH_SKIP_REASON)
    # One intra-op thread: torch's worker threads and XLA's thread pool fight over the CPU
    # otherwise (measured: the reference forward went from 0.15 s to 13 s on 2 cores).
    torch.set_num_threads(1)
    return load_helper("torch_reference")


@pytest.fixture(scope="session")
def released_names():
    return load_helper("released_state_dict")


def relative_error(actual, expected) -> float:
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = np.abs(expected).max()
    assert scale > 0, "reference tensor is all zeros: the comparison would be vacuous"
    return float(np.abs(actual - expected).max() / scale)


@pytest.fixture(scope="session")
def assert_parity():
    def check(actual, expected, what: str, rtol: float = PARITY_RTOL):
        error = relative_error(actual, expected)
        assert error <= rtol, f"{what}: relative error {error:.3g} > {rtol:g}"
        return error

    return check


def nchw_to_nhwc(tensor) -> np.ndarray:
    """A torch NCHW (or B, T, C, H, W) tensor -> numpy with channels last."""
    array = tensor.detach().cpu().numpy()
    return np.moveaxis(array, -3, -1)


@pytest.fixture(scope="session")
def to_nhwc():
    return nchw_to_nhwc


@pytest.fixture(scope="session")
def parity_case(torch_ref):
    """The `parity_case` helper module (needs torch)."""
    return load_helper("parity_case")
