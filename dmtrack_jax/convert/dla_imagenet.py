"""Initialising our backbone trunk from the ImageNet DLA-34 checkpoint (the DLAMain key set).

That checkpoint names the trunk's tensors without the detector's `backbone.base.` prefix
(`base_layer.0.weight`, `level3.tree1.root.conv.weight`, ...) and adds the ImageNet classifier
`fc.*`, which the detector never uses. Only `backbone/base` is replaced; DLAUp, neck, head,
template branch and controllers keep their (fresh) initialisation.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np
from flax import traverse_util

from dmtrack_jax.convert.mapping import ConversionReport, convert_tree, torch_name
from dmtrack_jax.convert.torch_io import read_state_dict

TRUNK_PATH = ("backbone", "base")
_TRUNK_PREFIX = "backbone.base."
IMAGENET_IGNORED = (("fc.", "DLA-34's ImageNet classifier; the detector has no use for it"),)


def _imagenet_name(collection: str, path: Sequence[str]) -> str:
    return torch_name(collection, path)[len(_TRUNK_PREFIX):]


def _trunk_shapes(variables: Mapping) -> dict:
    """{collection: trunk subtree} of every collection that has a trunk part."""
    trunk = {}
    for collection, tree in dict(variables).items():
        node = tree
        for key in TRUNK_PATH:
            node = node.get(key) if hasattr(node, "get") else None
            if node is None:
                break
        if node is not None:
            trunk[collection] = {TRUNK_PATH[0]: {TRUNK_PATH[1]: node}}
    if "params" not in trunk:
        raise ValueError("variables have no params/backbone/base subtree to initialise")
    return trunk


def dla34_from_state_dict(
    state_dict: Mapping[str, np.ndarray], variables: Mapping, source: str = "state dict"
) -> tuple[dict, ConversionReport]:
    """Returns a copy of `variables` whose trunk (params and BN stats) comes from `state_dict`."""
    trunk, report = convert_tree(state_dict, _trunk_shapes(variables), name_fn=_imagenet_name,
                                 ignored=IMAGENET_IGNORED, source=source)
    merged = {}
    for collection, tree in dict(variables).items():
        flat = traverse_util.flatten_dict(_plain(tree))
        flat.update(traverse_util.flatten_dict(trunk.get(collection, {})))
        merged[collection] = traverse_util.unflatten_dict(flat)
    return merged, report


def load_dla34_imagenet(path: str | os.PathLike, variables: Mapping,
                        allow_pickle: bool = False) -> dict:
    """`variables` with the trunk (`backbone/base`) replaced by the ImageNet DLA-34 weights.

    `path` is the ImageNet DLA-34 `.pth` (DLAMain key set). Raises ValueError naming every
    missing or unexpected key and any shape mismatch, FileNotFoundError for a missing file.
    """
    state_dict = read_state_dict(path, allow_pickle=allow_pickle)
    merged, _ = dla34_from_state_dict(state_dict, variables, source=str(path))
    return merged


def _plain(tree):
    """FrozenDict / dict -> nested plain dicts (leaves untouched)."""
    if hasattr(tree, "items"):
        return {k: _plain(v) for k, v in tree.items()}
    return tree
