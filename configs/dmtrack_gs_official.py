"""The authors' released DMTrack-GS: the same detector without the re-id head, with the
controllers' padding quirk reproduced so the released `.pth` weights compute the same function.

Track with imported weights: dmtrack track VIDEO --box x,y,w,h --checkpoint CONVERTED_DIR \
    --config configs/dmtrack_gs_official.py
"""

import ml_collections

from configs import dmtrack_dla34


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = dmtrack_dla34.get_config(arg)
    config.name = "dmtrack_gs_official"
    config.model.reid_dim = 0
    config.model.controller_padding_quirk = True
    return config
