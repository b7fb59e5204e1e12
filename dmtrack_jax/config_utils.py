"""Loading `ml_collections` config files and applying `--config.a.b=value` overrides."""

from __future__ import annotations

import ast
import importlib.util
import pathlib
from typing import Iterable

import ml_collections


def load_config_file(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """Imports `path` (a Python file with `get_config(arg=None)`) and returns its config.

    `path` may end in `:arg`, big_vision style (`configs/dmtrack_dla34.py:tiny`).
    """
    if arg is None and ":" in pathlib.Path(path).name:
        path, arg = path.rsplit(":", 1)
    file = pathlib.Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"_dmtrack_config_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"{path} defines no get_config(arg=None)")
    return module.get_config(arg) if arg is not None else module.get_config()


def _parse_value(text: str, current):
    if isinstance(current, str):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if isinstance(current, tuple) and isinstance(value, (int, float, str)):
        value = (value,)
    if isinstance(current, tuple) and isinstance(value, list):
        value = tuple(value)
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def apply_overrides(config: ml_collections.ConfigDict, overrides: Iterable[str]):
    """Applies `--config.a.b=value` strings; unknown keys and type changes are errors."""
    for item in overrides:
        if not item.startswith("--config."):
            raise ValueError(f"unrecognised argument {item!r} (overrides look like --config.a.b=1)")
        key, sep, text = item[len("--config."):].partition("=")
        if not sep:
            raise ValueError(f"override {item!r} has no '=value'")
        parent = config
        *path, leaf = key.split(".")
        for part in path:
            if part not in parent:
                raise ValueError(f"unknown config field {key!r} in override {item!r}")
            parent = parent[part]
        if leaf not in parent:
            raise ValueError(f"unknown config field {key!r} in override {item!r}")
        current = parent[leaf]
        value = _parse_value(text, current)
        if current is not None and value is not None and type(value) is not type(current):
            raise ValueError(
                f"override {item!r}: {key} expects {type(current).__name__}, "
                f"got {type(value).__name__} {value!r}"
            )
        parent[leaf] = value
    return config
