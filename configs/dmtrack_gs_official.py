"""The authors' released DMTrack-GS: the same detector without the re-id head, with the
controllers' padding quirk reproduced so the released `.pth` weights compute the same function.

Track with imported weights (`dmtrack convert` saves this config with them, so the tracker
runs the released pipeline, issue 17 facts 1-11, frame for frame):
    dmtrack track VIDEO --box x,y,w,h --checkpoint CONVERTED_DIR --out results.txt

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
    # The released tracker (tools/test_dmtrack.py; issue 17 facts 1-11): every frame
    # independent, the best target-class candidate, no threshold, no held box.
    tr = config.tracker
    tr.input_size = (512, 736)  # (short, long) sides
    tr.resize_rule = "long_short"  # fact 3
    tr.canvas = "pad"  # fact 5
    tr.canvas_multiple = 32
    tr.box_convention = "pixel_inclusive"  # fact 1: x2 = x + w - 1
    tr.clip_template_box = True  # fact 6
    tr.pre_nms_top_k = 1000  # fact 9
    tr.clip_candidates = True  # fact 9
    tr.candidate_classes = "all"  # fact 10
    tr.candidate_threshold_on = "class_probability"  # fact 10: sigmoid(cls) > 0
    tr.candidate_min_score = 0.0
    tr.nms_iou_threshold = 0.5  # fact 10
    tr.max_detections = 100  # fact 10
    tr.selection_mode = "top1"  # fact 11
    tr.detection_min_score = 0.0  # fact 11: no score threshold
    tr.drop_degenerate_candidates = False  # fact 11: zero-size boxes returned as they are
    tr.absent_confidence = 0.0  # fact 11: the box of every frame with a candidate is reported
    return config
