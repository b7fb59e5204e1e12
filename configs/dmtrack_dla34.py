"""The paper's DMTrack: DLA-34 + FPN, dynamic convolutions at integration layers 1 and 6
(k = 4 controllers), re-id head with 128-d embeddings.

Train:  dmtrack train --config configs/dmtrack_dla34.py --workdir W
Ablate: --config.model.correlation=dw   --config.model.integration_layers=6

`get_config()` takes no argument: `--config configs/dmtrack_dla34.py:ARG` is a ValueError
naming this file (variants are other files, e.g. configs/tiny.py; fields are overridden with
`--config.a.b=value`).

Derived fields (ml_collections FieldReferences, they follow their source unless overridden):
`train.reid_batch_size` = `train.batch_size`; `evals.synthetic.image_size` =
`data.sources.synthetic.size`; `evals.synthetic.batch_size` = `evals.synthetic.sequences`.
Per-process batch sizes (`data.batch_size`, `data.reid_batch_size`) and `loss.num_ids` 0
("auto") are resolved at start-up into a new config (`config_utils.resolve_run_config`).
"""

import ml_collections

from data_pipelines.config import default_data_config
from dmtrack_jax.tracking.config import default_tracker_config


def model_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.dla_levels = (1, 1, 1, 2, 2, 1)
    m.dla_channels = (16, 32, 64, 128, 256, 512)
    m.fpn_channels = 256
    m.strides = (8, 16, 32)
    m.head_channels = 256
    m.encoder_channels = 32
    m.num_convs = 4
    m.gn_groups = 32
    m.num_classes = 2
    # Table 1 ablations: correlation in {dc, cc, dw, hp}; integration layers any non-empty
    # subset of 1..6 (1 after the neck, 2-5 after each tower conv, 6 after the encoder).
    m.correlation = "dc"
    m.integration_layers = (1, 6)
    m.roi_size = 7
    m.roi_sampling_ratio = 2
    m.finest_scale = 56.0
    # The released controllers' 1x1 conv has padding 1 (pooled value (49/81) W mean(z) + b).
    m.controller_padding_quirk = False
    m.reid_dim = 128
    m.reid_hidden = 0
    # 3x3 stride-1 convs (trunk, FPN, head towers): "auto" = Winograd F(2x2, 3x3) on CPU in
    # float32 at >= 256 input channels (~1.5x faster there, benchmarks/BENCHMARKS.md), XLA's
    # conv elsewhere; or "direct" / "winograd" everywhere. Same parameters and function.
    m.conv_algorithm = "auto"
    m.dtype = "float32"  # compute dtype; "bfloat16" for bf16 compute with f32 params
    m.param_dtype = "float32"
    return m


def loss_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.focal_alpha = 0.25
    c.focal_gamma = 2.0
    c.center_sampling_radius = 1.5
    c.regress_ranges = ((-1.0, 64.0), (64.0, 128.0), (128.0, 1e8))
    c.iou_eps = 1e-6  # -log(max(IoU, eps)), mmdet's clamp
    c.num_ids = 14455  # training identities; must cover every id label of the re-id data
    return c


def optim_config() -> ml_collections.ConfigDict:
    """The paper's recipe: SGD lr 1e-3, 360K iterations, /10 at 300K and 340K. Momentum, weight
    decay, bias lr x2, clipping and warmup are the released code's (the paper is silent)."""
    o = ml_collections.ConfigDict()
    o.name = "sgd"  # "sgd" | "adamw" (b1, b2, eps below are AdamW's only)
    o.learning_rate = 1e-3
    o.momentum = 0.9
    o.weight_decay = 1e-4  # kernels only: none on biases, norms, scales, uncertainty weights
    o.bias_lr_mult = 2.0
    o.grad_clip_norm = 35.0
    o.warmup = "constant"  # "constant" | "linear"
    o.warmup_steps = 500
    o.warmup_ratio = 1.0 / 3000
    o.decay_steps = (300_000, 340_000)
    o.decay_factor = 0.1
    o.b1 = 0.9
    o.b2 = 0.999
    o.eps = 1e-8
    return o


def train_config() -> ml_collections.ConfigDict:
    t = ml_collections.ConfigDict()
    t.steps = 360_000
    t.batch_size = 16  # global SOT pairs per step
    # Global identity images per step: the SOT batch size unless overridden.
    t.reid_batch_size = t.get_ref("batch_size").identity()
    t.reid_every = 2  # every 2nd step is an identity batch (0: detection only)
    t.log_every = 50
    t.checkpoint_every = 5_000
    t.keep_checkpoints = 3
    t.async_checkpointing = True
    return t


def synthetic_eval_config(data: ml_collections.ConfigDict, every: int = 20_000,
                          sequences: int = 4, frames: int = 60) -> ml_collections.ConfigDict:
    """The "synthetic_tracking" evaluator: every `every` steps (and at the last step; 0: never)
    track `sequences` held-out synthetic videos of `frames` frames with the current weights
    and log success AUC / precision / norm_precision / max_gm as a `"kind": "eval"` record.
    Its videos have the training source's canvas size (a reference into `data`)."""
    e = ml_collections.ConfigDict()
    e.type = "synthetic_tracking"
    e.every = every
    e.sequences = sequences
    e.frames = frames
    e.seed = 10_000  # eval.synthetic_benchmark.VALIDATION_SEED: not the training data's seed
    e.image_size = data.sources.synthetic.get_ref("size").identity()  # (H, W)
    e.batch_size = e.get_ref("sequences").identity()  # videos tracked together: all of them
    return e


def evals_config(data: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`config.evals`: evaluator name -> settings (`type`, `every` and the type's own settings);
    dmtrack_apps/evaluators.py maps each `type` to the code that builds it. Rebuild it after
    replacing `config.data` (the synthetic evaluator's image size refers into it)."""
    evals = ml_collections.ConfigDict()
    evals.synthetic = synthetic_eval_config(data)
    return evals


def get_config(arg=None) -> ml_collections.ConfigDict:
    if arg is not None:
        raise ValueError(f"configs/dmtrack_dla34.py takes no argument (got {arg!r}); override "
                         f"fields instead, e.g. --config.train.steps=1000")
    config = ml_collections.ConfigDict()
    config.name = "dmtrack_dla34"
    config.seed = 0
    config.model = model_config()
    config.loss = loss_config()
    config.optim = optim_config()
    config.data = default_data_config("paper")
    config.train = train_config()
    config.evals = evals_config(config.data)
    # Benchmarks (eval.scoring names: lasot, got10k, trackingnet, ...) this run's model will be
    # reported on: training refuses a data source holding their test sequences unless
    # --config.data.allow_test_overlap=True (dmtrack_apps/train.py). E.g.
    # --config.eval_benchmarks=lasot; several: --config.eval_benchmarks=lasot,got10k.
    config.eval_benchmarks = ()
    # Mesh (data, model) over all devices of all processes (num_devices 0) or the first N;
    # model_axis > 1 splits the controllers' 256x65536 kernels over that many devices.
    config.mesh = ml_collections.ConfigDict({"model_axis": 1, "num_devices": 0})
    # Multi-host: set enabled=True; with an empty coordinator address JAX reads the cluster
    # environment (TPU pods, SLURM); otherwise give address, process count and id.
    config.distributed = ml_collections.ConfigDict({
        "enabled": False, "coordinator_address": "", "num_processes": 1, "process_id": 0,
        "local_device_ids": ()})
    config.init = ml_collections.ConfigDict({"dla34_imagenet": ""})
    # Online tracking; frames are resized keeping ratio to fit (W, H) = (736, 512).
    config.tracker = default_tracker_config()
    return config
