"""The data configuration: sources, mixing, pair sampling, box filters, augmentation, batching.

    from data_pipelines.config import default_data_config
    data_config = default_data_config("tiny")      # synthetic source, 128x160 canvases
    data_config = default_data_config("paper")     # multi-scale, shorter side 256..608 step 32
    data_config = default_data_config("released")  # keep-ratio rescale to fit (1333, 800)

The synthetic source is on by default in every recipe so that training runs with no dataset on
disk; a real run sets e.g. ``sources.lasot.root`` and the mixing weights and turns synthetic off
(``sources.synthetic.weight = 0``). Weights are relative (normalised over enabled sources).

Each dataset source reads its official training split by default (``sources.<name>.split``:
`data_pipelines.datasets.TRAINING_SPLITS` -- LaSOT "train" = the 1,120 training sequences, the
280 test sequences excluded; GOT-10k "train"; TrackingNet "TRAIN" = every TRAIN_<k> chunk;
COCO "train2017"; MOT17 "train"). Another split is an explicit opt-in, e.g.
``--config.data.sources.lasot.split=all`` or ``--config.data.sources.got10k.split=train,val``.
Training then refuses a source that overlaps the test split of a benchmark the run names for
evaluation (``config.eval_benchmarks``, see dmtrack_apps/train.py) unless
``allow_test_overlap`` is True.
"""

from __future__ import annotations

import ml_collections

from data_pipelines.datasets import TRAINING_SPLITS

RECIPES = ("paper", "released", "tiny")

# Sources the sampler knows; 'video' sources give pairs across frames, 'image' sources (COCO)
# give the same image augmented twice.
SOURCE_NAMES = ("synthetic", "lasot", "got10k", "trackingnet", "coco", "mot17")


def _source(split: str = "", weight: float = 0.0,
            reid_weight: float = 0.0) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({
        "root": "",  # dataset root in its official layout (see data_pipelines.datasets)
        # reader split: the official training split by default ('' = the same); another split
        # ('all', GOT-10k 'train,val', TrackingNet 'TRAIN_0,TEST', a LaSOT list file) is opt-in
        "split": split,
        "tfds_dir": "",  # if set: read the prepared tfds ArrayRecord dataset from here instead
        "weight": float(weight),  # SOT pair mixing weight (0 = not used for pairs)
        "reid_weight": float(reid_weight),  # identity-batch mixing weight (needs identities)
    })


def default_data_config(recipe: str = "paper") -> ml_collections.ConfigDict:
    """The data config for one of `RECIPES`; see the module docstring."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown data recipe {recipe!r}; expected one of {RECIPES}")
    config = ml_collections.ConfigDict()
    config.seed = 0
    # Per process per step; training derives both from train.batch_size / train.reid_batch_size
    # and the process count (into a new config: dmtrack_jax.config_utils.resolve_run_config).
    config.batch_size = 2  # SOT pairs per process per step (released: 2 pairs per GPU)
    config.max_targets = 8  # T: targets per search image, padded with a validity mask
    config.reid_batch_size = 2  # identity-batch images per process per step
    config.reid_max_objects = 32  # N: annotated identities per identity image, padded
    config.worker_count = 0  # grain worker processes (0 = in the training process)
    config.worker_buffer_size = 2
    config.max_frame_gap = 300  # template and search at most this many frames apart
    # True: train even when a source overlaps the test split of a benchmark named in
    # config.eval_benchmarks (the check in dmtrack_apps/train.py refuses otherwise).
    config.allow_test_overlap = False

    config.sources = ml_collections.ConfigDict()
    for name in SOURCE_NAMES:
        config.sources[name] = _source(TRAINING_SPLITS.get(name, ""))
    synthetic = config.sources.synthetic
    synthetic.weight = 1.0
    synthetic.reid_weight = 1.0
    synthetic.sequences = 32
    synthetic.frames = 60
    synthetic.size = (128, 160)  # (H, W)
    synthetic.distractors = 3
    synthetic.seed = 0
    # The generator's preset (synthetic.PRESETS): 'default' (short busy videos) or 'lasot-like'
    # (long videos with LaSOT's motion, absence and scale statistics; use >= 600 frames).
    synthetic.preset = "default"

    # Released-code box filters (kept when all hold; W, H = image size).
    config.box_filter = ml_collections.ConfigDict({
        "min_area": 20.0,  # area > min_area
        "min_size": 10.0,  # min_size <= w, h <= max_size
        "max_size": 960.0,
        "min_relative": 0.01,  # w/W and h/H in [min_relative, max_relative]
        "max_relative": 0.75,
        "min_aspect": 0.2,  # w/h in [min_aspect, max_aspect)
        "max_aspect": 5.0,
    })

    config.augment = ml_collections.ConfigDict({
        "photometric": True,
        "expand": True,
        "expand_ratio_range": (1.0, 4.0),
        "expand_prob": 0.5,
        "ssd_crop": True,
        "flip_prob": 0.5,  # drawn independently for template and search
        "min_box_size": 1.0,  # a box thinner than this after rescale is dropped (box_valid False)
        "scale_mode": "multiscale",  # 'multiscale' (paper) | 'fit' (released)
        "multiscale_short_sides": tuple(range(256, 609, 32)),
        "multiscale_long_ratio": 1333.0 / 800.0,  # long side cap = short side * ratio
        "fit_size": (1333, 800),  # (long, short) for scale_mode 'fit'
    })

    if recipe == "released":
        config.augment.scale_mode = "fit"
    elif recipe == "tiny":
        config.augment.scale_mode = "fit"
        config.augment.fit_size = (160, 128)  # canvases 128x160 and 160x128
        config.max_targets = 4  # synthetic videos hold 4 objects (target + 3 distractors)
        config.reid_max_objects = 8
        # A 4x zoom-out of a 128x160 frame leaves ~5-pixel targets; 2x keeps them learnable.
        config.augment.expand_ratio_range = (1.0, 2.0)
        # Synthetic frames are small; the released 10-pixel minimum keeps most objects.
        config.box_filter.min_size = 4.0
        config.box_filter.min_area = 16.0
    return config
