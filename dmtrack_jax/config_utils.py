"""Loading `ml_collections` config files, `--config.a.b=value` overrides, run-time resolution.

A config built for a run is LOCKED: `load_config_file` returns it locked, `apply_overrides`
leaves it locked, and `resolve_run_config` returns a new locked copy. On a locked config an
assignment to a field that does not exist raises (AttributeError/KeyError naming the key),
and ml_collections' type safety rejects a value of another type (TypeError naming the field):
code that needs a value the config does not hold computes it into a new object
(`resolve_run_config`) instead of adding fields at run time.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
from typing import Iterable, Optional

import ml_collections


def load_config_file(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """Imports `path` (a Python file with `get_config(arg=None)`) and returns its config, locked.

    `path` may end in `:ARG`, big_vision style (`FILE:ARG` calls `get_config("ARG")`; what ARG
    means, if anything, is in each config file's docstring).
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
    config = module.get_config(arg) if arg is not None else module.get_config()
    if not isinstance(config, ml_collections.ConfigDict):
        raise TypeError(f"{path}: get_config() returned {type(config).__name__}, "
                        f"not an ml_collections.ConfigDict")
    config.lock()
    return config


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
    """Applies `--config.a.b=value` strings; unknown keys and type changes are errors naming the
    field. Returns `config` (changed in place: overrides are how the user states the config)
    and leaves it locked."""
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
    config.lock()
    return config


def resolve_run_config(config: ml_collections.ConfigDict, process_count: int = 1,
                       num_identities: Optional[int] = None) -> ml_collections.ConfigDict:
    """A NEW locked config with the values that depend on run-time facts filled in.

    `config` itself is not changed (references resolved into plain values in the copy):

    * `data.batch_size` = `train.batch_size // process_count` (SOT pairs per process per step)
      and `data.reid_batch_size` = `train.reid_batch_size // process_count` (identity images);
      either global size not divisible by `process_count` is a ValueError.
    * `loss.num_ids`: with `num_identities` given (the identity classes the re-id data has) and
      identity batches in use (`model.reid_dim > 0` and `train.reid_every > 0`), 0 ("auto")
      becomes `max(num_identities, 3)`; a positive value below `num_identities` is a
      ValueError (labels would fall outside the classifier). Otherwise it is kept as it is.

    Training writes the result to the workdir's config.json.
    """
    if process_count < 1:
        raise ValueError(f"process_count={process_count}; must be >= 1")
    train = config.train
    reid_global = int(train.get("reid_batch_size", train.batch_size))
    for name, value in (("train.batch_size", int(train.batch_size)),
                        ("train.reid_batch_size", reid_global)):
        if value % process_count:
            raise ValueError(f"{name}={value} is not divisible by {process_count} processes")
    resolved = config.copy_and_resolve_references()
    resolved.data.batch_size = int(train.batch_size) // process_count
    resolved.data.reid_batch_size = reid_global // process_count
    wants_reid = config.model.reid_dim > 0 and config.train.reid_every > 0
    if num_identities is not None and wants_reid:
        num_ids = int(config.loss.num_ids)
        if num_ids <= 0:
            resolved.loss.num_ids = max(int(num_identities), 3)
        elif num_ids < num_identities:
            raise ValueError(f"loss.num_ids={num_ids} but the identity data has "
                             f"{num_identities} identities")
    resolved.lock()
    return resolved
