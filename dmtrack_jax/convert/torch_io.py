"""Reading PyTorch checkpoint files (`.pth`) into plain numpy state dicts.

torch is an optional dependency (`pip install -e .[torch]`): it is imported only here, only
when a `.pth` file is actually read, so the rest of the package never needs it.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Mapping

import numpy as np

TORCH_EXTRA_HINT = (
    "reading a PyTorch .pth checkpoint needs torch, an optional extra of dmtrack-jax: "
    "install it with `pip install -e .[torch]` (CPU wheel torch==2.13.0 is enough)"
)

# Prefixes that wrappers add in front of every parameter name (DataParallel, some exporters).
_WRAPPER_PREFIXES = ("module.",)


def import_torch():
    """Returns the torch module, or raises ImportError that names the `[torch]` extra."""
    try:
        import torch  # noqa: PLC0415 (deliberately lazy: torch is optional)
    except ImportError as err:
        raise ImportError(TORCH_EXTRA_HINT) from err
    return torch


def _tensor_to_numpy(name: str, value: Any, path: pathlib.Path) -> np.ndarray:
    torch = import_torch()
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{path}: state dict entry {name!r} is a {type(value).__name__}, "
                         f"not a tensor")
    value = value.detach().cpu()
    if value.is_floating_point() and value.dtype != torch.float64:
        value = value.float()  # bfloat16/float16 have no (or a lossy) numpy bridge
    return value.numpy().copy()


def extract_state_dict(checkpoint: Any, path: str | os.PathLike = "<checkpoint>") -> dict:
    """The parameter dict of a loaded checkpoint object.

    Accepts an mmcv checkpoint (`{"state_dict": ..., "meta": ...}`), a `{"model": ...}` wrapper,
    or a bare state dict; strips a `module.` prefix that DataParallel adds to every name.
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{path}: expected a dict-like checkpoint, got "
                         f"{type(checkpoint).__name__}")
    for wrapper_key in ("state_dict", "model"):
        inner = checkpoint.get(wrapper_key)
        if isinstance(inner, Mapping):
            checkpoint = inner
            break
    state = dict(checkpoint)
    for prefix in _WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Loads a `.pth` file and returns {released name: float32/int numpy array}.

    By default torch's `weights_only` loader is used, which refuses arbitrary pickled objects
    (a `.pth` is a pickle: loading an untrusted one otherwise runs its code). `allow_pickle`
    lifts that for trusted files whose metadata holds other Python objects.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    torch = import_torch()
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, ...)
        hint = ("" if allow_pickle else
                "; if the file is trusted and holds non-tensor Python objects, retry with "
                "--allow-pickle")
        raise ValueError(f"cannot read PyTorch checkpoint {path}: "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                         f"{hint}") from err
    state = extract_state_dict(checkpoint, path)
    return {name: _tensor_to_numpy(name, value, path) for name, value in state.items()}
