"""Importing PyTorch checkpoints: the released DMTrack-GS weights and ImageNet DLA-34.

torch is optional (`pip install -e .[torch]`) and imported only when a `.pth` is read.

- `convert_checkpoint(pth, out_dir, config)`: `.pth` -> exported folder for `dmtrack track`;
- `convert_state_dict(state_dict, config)`: {released name: array} -> (variables, report);
- `load_dla34_imagenet(pth, variables)`: variables with the trunk from ImageNet DLA-34;
- `torch_name(collection, path)`: the released name of one of our variables.
"""

from dmtrack_jax.convert.dla_imagenet import dla34_from_state_dict, load_dla34_imagenet
from dmtrack_jax.convert.mapping import IGNORED, ConversionReport, torch_name, torch_shape
from dmtrack_jax.convert.released import convert_checkpoint, convert_state_dict
from dmtrack_jax.convert.torch_io import read_state_dict

__all__ = [
    "IGNORED",
    "ConversionReport",
    "convert_checkpoint",
    "convert_state_dict",
    "dla34_from_state_dict",
    "load_dla34_imagenet",
    "read_state_dict",
    "torch_name",
    "torch_shape",
]
