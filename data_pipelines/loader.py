"""grain loaders: deterministic, multi-worker, checkpointable, sharded per JAX process.

    it = make_train_iterator(data_config, kind="sot", process_index=jax.process_index(),
                             process_count=jax.process_count())
    batch = next(it)            # numpy dict with static shapes (see data_pipelines.sampling)
    state = it.get_state()      # bytes (JSON); it.set_state(state) resumes at the next batch

Each grain record is a whole batch: its key k is a batch number, and the batch is a pure
function of (seed, kind, k) (`PairSampler.sot_batch`). That is what lets the canvas bucket be
chosen per batch (all examples of a batch share one canvas), keeps the output identical for any
worker count, and makes the iterator state a single position. Keys are split into contiguous
ranges per JAX process (grain `ShardOptions`), so processes never draw the same batch.
"""

from __future__ import annotations

import logging

import grain
import numpy as np

from data_pipelines import augment as aug
from data_pipelines.config import SOURCE_NAMES
from data_pipelines.sampling import BoxFilter, FrameSource, PairSampler
from data_pipelines.sequence import Sequence

logger = logging.getLogger(__name__)

# Batch keys per process range: effectively endless (2**40 steps).
NUM_BATCH_KEYS = 2**40
KINDS = ("sot", "reid")


# ----------------------------------------------------------------------------- sources


def synthetic_source(num_sequences: int, num_frames: int, image_size: tuple[int, int],
                     num_distractors: int = 3, seed: int = 0,
                     preset: str = "default") -> FrameSource:
    """Generate videos in memory with the synthetic generator: no dataset on disk needed.
    `preset`: the generator's ('default' or 'lasot-like'; `synthetic.PRESETS`).

    Object 0 is the SOT target; every object is a track with a dataset-unique identity.
    """
    from data_pipelines import synthetic

    if num_sequences < 1 or num_frames < 2:
        raise ValueError(f"synthetic source needs >= 1 sequence and >= 2 frames, got "
                         f"{num_sequences} sequences of {num_frames} frames")
    frames, sequences = [], []
    for index, video in enumerate(synthetic.iter_dataset(
            num_sequences, num_frames, seed, tuple(image_size), num_distractors,
            preset=preset)):
        name = f"synthetic-{seed}-{index:04d}"
        target = video.boxes[:, 0]
        sequences.append(Sequence(
            name=name, dataset="synthetic",
            frame_paths=[f"<in-memory {name}>/{t:08d}" for t in range(num_frames)],
            ground_truth=target, present=video.visible[:, 0], object_class=video.object_class,
            tracks={int(i): video.boxes[:, k] for k, i in enumerate(video.ids)},
            ids_are_identities=True, image_size=tuple(int(v) for v in image_size)))
        frames.append(video.frames)
    return FrameSource("synthetic", sequences, "video", _ArrayFrames(frames))


class _ArrayFrames:
    """Picklable frame reader over in-memory (F, H, W, 3) arrays (grain workers pickle it)."""

    def __init__(self, frames: list[np.ndarray]):
        self.frames = frames

    def __call__(self, seq_index: int, frame_index: int) -> np.ndarray:
        return self.frames[seq_index][frame_index]


def build_sources(data_config) -> tuple[list[FrameSource], list[float], list[float]]:
    """The enabled sources (weight or reid_weight > 0) with their pair and re-id weights."""
    sources, weights, reid_weights = [], [], []
    unknown = set(data_config.sources.keys()) - set(SOURCE_NAMES)
    if unknown:
        raise ValueError(f"unknown data sources {sorted(unknown)}; known: {SOURCE_NAMES}")
    for name in SOURCE_NAMES:
        cfg = data_config.sources[name]
        weight, reid_weight = float(cfg.weight), float(cfg.reid_weight)
        if weight <= 0 and reid_weight <= 0:
            continue
        if name == "synthetic":
            source = synthetic_source(int(cfg.sequences), int(cfg.frames), tuple(cfg.size),
                                      int(cfg.distractors), int(cfg.seed),
                                      str(cfg.get("preset", "default")))
        elif cfg.tfds_dir:
            from data_pipelines import tfds_builders

            source = tfds_builders.load_tfds_source(name, cfg.tfds_dir, cfg.split or None)
        elif cfg.root:
            from data_pipelines import datasets

            split = cfg.split or datasets.TRAINING_SPLITS.get(name)
            sequences = datasets.read_dataset(name, cfg.root, split=split)
            source = FrameSource(name, sequences, "image" if name == "coco" else "video")
        else:
            raise ValueError(f"data source {name!r} has weight {weight:g} / reid_weight "
                             f"{reid_weight:g} but neither sources.{name}.root nor "
                             f"sources.{name}.tfds_dir is set")
        sources.append(source)
        weights.append(weight)
        reid_weights.append(reid_weight)
    if not sources:
        raise ValueError("no data source enabled: set sources.<name>.weight > 0")
    return sources, weights, reid_weights


def buckets_from_config(data_config) -> list[aug.Bucket]:
    a = data_config.augment
    return aug.canvas_buckets(a.scale_mode, fit_size=tuple(a.fit_size),
                              short_sides=tuple(a.multiscale_short_sides),
                              long_ratio=float(a.multiscale_long_ratio))


def build_sampler(data_config, seed: int | None = None,
                  sources: list[FrameSource] | None = None,
                  weights: list[float] | None = None,
                  reid_weights: list[float] | None = None) -> PairSampler:
    """A `PairSampler` from the data config (sources built from it unless given)."""
    if sources is None:
        sources, weights, reid_weights = build_sources(data_config)
    return PairSampler(
        sources, weights if weights is not None else [1.0] * len(sources), reid_weights,
        seed=int(data_config.seed if seed is None else seed),
        batch_size=int(data_config.batch_size), max_targets=int(data_config.max_targets),
        reid_batch_size=int(data_config.reid_batch_size),
        reid_max_objects=int(data_config.reid_max_objects),
        max_frame_gap=int(data_config.max_frame_gap),
        box_filter=BoxFilter.from_config(data_config.box_filter),
        settings=aug.AugmentSettings.from_config(data_config.augment),
        buckets=buckets_from_config(data_config))


def batch_shapes(data_config, kind: str = "sot") -> list[dict[str, tuple[int, ...]]]:
    """Every shape set a batch of `kind` can have (one per canvas bucket): for compile planning."""
    shapes = []
    for bucket in buckets_from_config(data_config):
        h, w = bucket.canvas_hw
        if kind == "sot":
            b, t = int(data_config.batch_size), int(data_config.max_targets)
            shapes.append({"template_image": (b, h, w, 3), "template_boxes": (b, t, 4),
                           "search_image": (b, h, w, 3), "search_boxes": (b, t, 4),
                           "box_valid": (b, t)})
        elif kind == "reid":
            b, n = int(data_config.reid_batch_size), int(data_config.reid_max_objects)
            shapes.append({"image": (b, h, w, 3), "boxes": (b, n, 4), "ids": (b, n),
                           "box_valid": (b, n)})
        else:
            raise ValueError(f"unknown batch kind {kind!r}; expected one of {KINDS}")
    return shapes


def num_identities(data_config) -> int:
    """Identity classes the re-id head needs (nID) for the config's re-id sources."""
    return build_sampler(data_config).num_identities


# ----------------------------------------------------------------------------- grain


class _MakeBatch(grain.transforms.Map):
    """Batch key -> batch dict (picklable: workers receive the sampler)."""

    def __init__(self, sampler: PairSampler, kind: str):
        self.sampler, self.kind = sampler, kind

    def map(self, key: int) -> dict[str, np.ndarray]:
        if self.kind == "sot":
            return self.sampler.sot_batch(int(key))
        return self.sampler.reid_batch(int(key))


def _ensure_absl_flags_parsed() -> None:
    """grain's worker processes read its absl flags; outside `absl.app.run` (our argparse CLI,
    pytest) they were never parsed and the first batch would fail. Marking them parsed keeps
    every flag at its default and leaves an absl program's own parsing untouched."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def make_train_loader(data_config, kind: str = "sot", process_index: int = 0,
                      process_count: int = 1, seed: int | None = None,
                      sampler: PairSampler | None = None) -> grain.DataLoader:
    """The grain DataLoader of `kind` batches for this JAX process."""
    if kind not in KINDS:
        raise ValueError(f"unknown batch kind {kind!r}; expected one of {KINDS}")
    if not 0 <= process_index < process_count:
        raise ValueError(f"process_index {process_index} outside 0..{process_count - 1}")
    sampler = sampler if sampler is not None else build_sampler(data_config, seed)
    if kind == "reid" and sampler.reid_weights is None:
        raise ValueError("identity batches requested but no source has reid_weight > 0")
    if int(data_config.worker_count) > 0:
        _ensure_absl_flags_parsed()
    shard = grain.sharding.ShardOptions(shard_index=process_index, shard_count=process_count,
                                        drop_remainder=True)
    index_sampler = grain.samplers.IndexSampler(num_records=NUM_BATCH_KEYS, shard_options=shard,
                                                shuffle=False, num_epochs=1)
    return grain.DataLoader(
        data_source=grain.sources.RangeDataSource(0, NUM_BATCH_KEYS, 1),
        sampler=index_sampler, operations=[_MakeBatch(sampler, kind)],
        worker_count=int(data_config.worker_count),
        worker_buffer_size=int(data_config.worker_buffer_size), shard_options=shard)


def make_train_iterator(data_config, kind: str = "sot", process_index: int = 0,
                        process_count: int = 1, seed: int | None = None,
                        sampler: PairSampler | None = None):
    """`iter(make_train_loader(...))`: `next(it)` gives a batch; `get_state()`/`set_state()`."""
    return iter(make_train_loader(data_config, kind, process_index, process_count, seed,
                                  sampler))
