"""The paper's topology at toy widths and input size, for CPU tests and the demo.

dmtrack train --config configs/tiny.py --workdir W --config.train.steps=N
"""

import ml_collections

from configs import dmtrack_dla34


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = dmtrack_dla34.get_config(arg)
    config.name = "tiny"
    m = config.model
    m.dla_channels = (4, 8, 8, 16, 16, 32)
    m.fpn_channels = 16
    m.head_channels = 16
    m.encoder_channels = 8
    m.num_convs = 4
    m.gn_groups = 4
    m.reid_dim = 16
    config.input_size = (128, 160)
    return config
