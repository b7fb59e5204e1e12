"""Importing the authors' DMTrack-GS checkpoint into an exported dmtrack-jax checkpoint."""

from __future__ import annotations

import os
from typing import Mapping

import jax
import ml_collections
import numpy as np

from dmtrack_jax.convert.mapping import ConversionReport, convert_tree
from dmtrack_jax.convert.torch_io import read_state_dict


def variable_shapes(model_config: ml_collections.ConfigDict) -> dict:
    """Shapes and dtypes of every variable of the model `model_config` builds (no compute)."""
    from dmtrack_jax.models import build_model, init_variables  # noqa: PLC0415

    model = build_model(model_config)
    # The image size does not change any variable's shape; 64x64 keeps tracing cheap.
    shapes = jax.eval_shape(lambda rng: init_variables(model, rng, (64, 64)),
                            jax.random.PRNGKey(0))
    return {collection: tree for collection, tree in dict(shapes).items()}


def convert_state_dict(
    state_dict: Mapping[str, np.ndarray],
    config: ml_collections.ConfigDict,
    source: str = "state dict",
) -> tuple[dict, ConversionReport]:
    """Released names -> {"params", "batch_stats"} of the model `config.model` builds.

    `config` (e.g. `configs/dmtrack_gs_official.py`'s) must describe the released
    architecture (no re-id head, `controller_padding_quirk=True` for the released function);
    any variable of ours that the checkpoint lacks is reported as a missing released name.
    """
    if not config.model.controller_padding_quirk:
        raise ValueError(
            "config.model.controller_padding_quirk is False: the released controllers are "
            "1x1 convs with padding 1, so their weights compute a different function "
            "without it; use configs/dmtrack_gs_official.py or set it to True")
    return convert_tree(state_dict, variable_shapes(config.model), source=source)


def convert_checkpoint(
    checkpoint_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ml_collections.ConfigDict,
    allow_pickle: bool = False,
) -> ConversionReport:
    """`.pth` -> exported folder (orbax variables + config.json) that `dmtrack track` reads."""
    from dmtrack_jax.checkpoint_io import save_exported  # noqa: PLC0415

    state_dict = read_state_dict(checkpoint_path, allow_pickle=allow_pickle)
    variables, report = convert_state_dict(state_dict, config, source=str(checkpoint_path))
    save_exported(out_dir, variables, config)
    return report
