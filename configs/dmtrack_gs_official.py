"""The authors' released DMTrack-GS: the same detector without the re-id head, with the
controllers' padding quirk reproduced so the released `.pth` weights compute the same function.

Track with imported weights: dmtrack track VIDEO --box x,y,w,h --checkpoint CONVERTED_DIR \
    --config configs/dmtrack_gs_official.py

`get_config()` takes no argument: `configs/dmtrack_gs_official.py:ARG` is a ValueError naming
this file. Derived fields as in configs/dmtrack_dla34.py.
"""

import ml_collections

from data_pipelines.config import default_data_config

from configs import dmtrack_dla34


def get_config(arg=None) -> ml_collections.ConfigDict:
    if arg is not None:
        raise ValueError(f"configs/dmtrack_gs_official.py takes no argument (got {arg!r}); "
                         f"override fields instead, e.g. --config.train.steps=1000")
    config = dmtrack_dla34.get_config()
    config.name = "dmtrack_gs_official"
    config.model.reid_dim = 0
    config.model.controller_padding_quirk = True
    # The released training recipe: 2 pairs per step, lr 2.5e-4, ~720K iterations.
    config.train.batch_size = 2
    config.train.steps = 720_000
    config.train.reid_every = 0
    config.optim.learning_rate = 2.5e-4
    config.optim.decay_steps = (660_000, 690_000)
    config.data = default_data_config("released")
    config.evals = dmtrack_dla34.evals_config(config.data)  # refers to the new data config
    return config
