"""The authors' released DMTrack-GS: the same detector without the re-id head, with the
controllers' padding quirk reproduced so the released `.pth` weights compute the same function.

Track with imported weights: dmtrack track VIDEO --box x,y,w,h --checkpoint CONVERTED_DIR \
    --config configs/dmtrack_gs_official.py
"""

import ml_collections

from data_pipelines.config import default_data_config

from configs import dmtrack_dla34


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = dmtrack_dla34.get_config(arg)
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
    return config
