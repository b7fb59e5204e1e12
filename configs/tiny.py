"""The paper's topology at toy widths and input size, for CPU tests and the demo.

dmtrack train --config configs/tiny.py --workdir W --config.train.steps=N
"""

import ml_collections

from data_pipelines.config import default_data_config

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
    config.tracker.input_size = (128, 160)
    # At these widths the untrained head predicts boxes of ~1e-3 px, an IoU far below mmdet's
    # 1e-6 clamp, where -log(max(IoU, eps)) has no gradient: lower the clamp so it trains.
    config.loss.iou_eps = 1e-12
    config.loss.num_ids = 0  # 0: as many as the identity data has (set at start-up)

    config.data = default_data_config("tiny")  # synthetic sequences, 128x160 canvases
    t = config.train
    t.steps = 2000
    t.batch_size = 4
    t.reid_every = 4  # every 4th step is an identity batch
    t.log_every = 10
    t.checkpoint_every = 200
    t.eval_every = 500
    t.eval_sequences = 2
    t.eval_frames = 40
    o = config.optim
    o.learning_rate = 0.01
    o.warmup = "linear"
    o.warmup_steps = 50
    o.warmup_ratio = 0.1
    o.decay_steps = (1500, 1800)
    return config
