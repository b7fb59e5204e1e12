"""Exported model checkpoints: a folder that `dmtrack track --checkpoint DIR` reads directly.

Layout:
  DIR/config.json       the full resolved ml_collections config (JSON)
  DIR/variables/        an orbax checkpoint of {"params": ..., "batch_stats": ...}
Both `dmtrack convert` (imported PyTorch weights) and training exports write this layout.
A training workdir (orbax CheckpointManager steps) is resolved by the training module.
"""

from __future__ import annotations

import json
import os
import pathlib

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from dmtrack_common.fileio import write_json_atomic  # noqa: F401  (re-exported)

CONFIG_FILE = "config.json"
VARIABLES_DIR = "variables"


def _to_numpy_tree(tree):
    return jax.tree_util.tree_map(lambda x: np.asarray(x), tree)


def save_exported(directory: str | os.PathLike, variables, config: ml_collections.ConfigDict):
    """Writes variables + config under `directory` (created; an existing export is replaced)."""
    directory = pathlib.Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / VARIABLES_DIR
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(target, _to_numpy_tree(dict(variables)), force=True)
    checkpointer.wait_until_finished()
    write_json_atomic(directory / CONFIG_FILE, json.loads(config.to_json_best_effort()))


def is_exported(directory: str | os.PathLike) -> bool:
    directory = pathlib.Path(directory)
    return (directory / CONFIG_FILE).is_file() and (directory / VARIABLES_DIR).is_dir()


def load_exported(directory: str | os.PathLike):
    """Returns (variables, config) from an exported folder."""
    directory = pathlib.Path(directory).absolute()
    if not is_exported(directory):
        raise FileNotFoundError(
            f"{directory} is not an exported checkpoint (expected {CONFIG_FILE} and "
            f"{VARIABLES_DIR}/ inside)")
    config = read_config(directory / CONFIG_FILE)
    variables_dir = directory / VARIABLES_DIR
    if not any(variables_dir.iterdir()):
        raise ValueError(f"{variables_dir}: empty (the checkpoint's weights are missing)")
    try:
        variables = ocp.StandardCheckpointer().restore(variables_dir)
    except Exception as err:  # noqa: BLE001 - orbax raises many types; one line names the file
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{variables_dir}: cannot restore the weights "
                         f"({type(err).__name__}: {first})") from err
    return variables, config


def read_config(path: str | os.PathLike) -> ml_collections.ConfigDict:
    """A config.json read back as a LOCKED ConfigDict (JSON lists as tuples), exactly as saved.

    Tracker fields that an old config lacks are filled where trackers are built
    (`dmtrack_jax.tracking.tracker.resolve_tracker_config`), not here.
    """
    try:
        with open(path) as f:
            payload = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: corrupt config, not valid JSON ({err})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: corrupt config, not a text file") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), dict):
        raise ValueError(f"{path}: not a model config (a JSON object with a 'model' section "
                         f"expected)")
    config = ml_collections.ConfigDict(_lists_to_tuples(payload))
    return config.lock()


def _lists_to_tuples(node):
    """JSON turns tuples into lists; configs use tuples for fixed-size fields."""
    if isinstance(node, dict):
        return {k: _lists_to_tuples(v) for k, v in node.items()}
    if isinstance(node, list):
        return tuple(_lists_to_tuples(v) for v in node)
    return node


def _checkpoint_kind(path: pathlib.Path) -> str:
    """'exported' or 'workdir'; FileNotFoundError (naming --checkpoint) for anything else."""
    if is_exported(path):
        return "exported"
    if (path / CONFIG_FILE).is_file() and (path / "checkpoints").is_dir():
        return "workdir"
    if (path / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"--checkpoint {path}: {path / VARIABLES_DIR} is missing (the weights; "
            f"{CONFIG_FILE} is there but neither {VARIABLES_DIR}/ nor a training workdir's "
            f"checkpoints/)")
    raise FileNotFoundError(
        f"--checkpoint {path}: neither an exported checkpoint ({CONFIG_FILE} + "
        f"{VARIABLES_DIR}/) nor a training workdir ({CONFIG_FILE} + checkpoints/)")


def read_inference_config(path: str | os.PathLike) -> ml_collections.ConfigDict:
    """The full config of an exported folder or a training workdir, without the weights.

    Cheap (one JSON file): trackers resolve and check it before restoring any variables.
    Raises FileNotFoundError, as `load_for_inference` does, for a path that is neither.
    """
    path = pathlib.Path(path).absolute()
    _checkpoint_kind(path)
    return read_config(path / CONFIG_FILE)


def load_for_inference(path: str | os.PathLike):
    """(variables, config) from an exported folder OR a training workdir (its newest step).

    path: an exported checkpoint (DIR/config.json + DIR/variables/, as written by
    `save_exported`: `dmtrack convert`, training exports) or a training workdir
    (DIR/config.json + DIR/checkpoints/, an orbax CheckpointManager; its newest step is
    restored). Returns variables `{"params": ..., "batch_stats": ...}` (numpy / jax arrays as
    saved, host memory; "batch_stats" only when the model has any) and the full saved config
    as an `ml_collections.ConfigDict` (JSON lists turned back into tuples). The config is
    returned as saved: callers building a tracker should use
    `Tracker.from_checkpoint` / `BatchedTracker.from_checkpoint`, which fill missing tracker
    fields, apply overrides and check them.

    Raises FileNotFoundError when `path` (absolute in the message, prefixed `--checkpoint`) is
    neither layout, and when a training workdir has no finished checkpoint step yet. Errors of
    orbax itself (a corrupt or partially written variables folder) propagate unchanged.
    """
    path = pathlib.Path(path).absolute()
    if _checkpoint_kind(path) == "exported":
        return load_exported(path)
    config = read_config(path / CONFIG_FILE)
    with ocp.CheckpointManager(path / "checkpoints") as manager:
        step = manager.latest_step()
        if step is None:
            raise FileNotFoundError(f"training workdir {path} has no finished checkpoint yet")
        restored = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore()))
    state = restored.state
    variables = {"params": state["params"]["model"]}
    if state.get("batch_stats"):
        variables["batch_stats"] = state["batch_stats"]
    return variables, config


def training_sources(config) -> dict:
    """What a checkpoint's weights were trained on, from its config alone.

    Returns {"imported_from": str or None, "sources": [names]}: `imported_from` is set by
    `dmtrack convert` (the released weights, trained by the authors on real videos; configs
    named `dmtrack_gs_official` converted before that field existed count as imported too);
    `sources` lists the `data.sources` entries with a positive `weight` or `reid_weight`, the
    data the training mix drew from.
    """
    imported = config.get("imported_from") or None
    if imported is None and config.get("name") == "dmtrack_gs_official":
        imported = "the released DMTrack-GS weights"
    sources = []
    for name, source in (config.get("data", {}).get("sources", {}) or {}).items():
        if float(source.get("weight", 0) or 0) > 0 or float(source.get("reid_weight", 0) or 0) > 0:
            sources.append(name)
    return {"imported_from": imported, "sources": sorted(sources)}


def trained_only_on_synthetic(config) -> bool:
    """True when the weights were trained here on the synthetic source alone (the shipped
    `checkpoints/tiny`): such a model knows only synthetic scenes."""
    record = training_sources(config)
    return record["imported_from"] is None and record["sources"] == ["synthetic"]
