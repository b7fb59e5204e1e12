"""Synthetic long-term tracking videos with hard same-class distractors.

Why this exists: the tests, the demo and tiny training runs need videos that exercise exactly
what DMTrack is about (distractors that look like the target, the target disappearing and
coming back) without downloading LaSOT. Every video is reproducible from its seed.

What a video contains:
  * a textured background (low-frequency colour noise plus clutter rectangles) seen through a
    shaking camera (integer per-frame translation);
  * K objects of one shape family (object 0 = the target, 1..K-1 = distractors). All objects
    share one two-colour palette (so their colour statistics match) and differ only in their
    stripe/spot pattern (their identity); each has its own slowly drifting illumination;
  * independent smooth motion with scale and aspect change; distractor 1 is steered through
    the target's position (a crossing);
  * an occluder that slides over the target, covers it completely for a while, and leaves;
  * an out-of-view period where the target leaves the image and comes back;
  * a thin static bar that partially occludes whatever passes behind it.

Boxes follow the LaSOT convention: the box of the whole object clipped to the image while any
part of it is visible; NaN (and flagged) when it is fully occluded or out of view. The flags are
derived from the rendered object-id mask, so they are exact by construction.

Presets (PRESETS, `preset=` here, `dmtrack synth --preset`): everything above is the `default`
preset, which the shipped model was trained on. `lasot-like` (`synthetic_lasot`) draws the same
world with LaSOT's statistics instead: long videos, mostly slow motion with fast bursts and
camera cuts, rare absences of very unequal lengths (occluder passes and out-of-view periods
with re-entry far from the exit), a distractor crossing the target again and again.

Modules: `synthetic_scene` plans a video (paths, looks, events) from its seed,
`synthetic_render` draws its frames, this module is the generator API (one video, a dataset's
videos one by one), and `writers.write_dataset` writes a dataset in a real layout.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_pipelines import synthetic_scene
from data_pipelines.synthetic_lasot import plan_lasot_like_scene, target_annotations
from data_pipelines.synthetic_render import SHAPE_FAMILIES, Scene, render_frame, shape_mask
from data_pipelines.synthetic_scene import MAX_OBJECTS_PER_SEQUENCE

# Generator presets: `default` (synthetic_scene's planner: one occlusion, one out-of-view period
# and one crossing per video, smooth motion; the shipped model's training data) and `lasot-like`
# (synthetic_lasot's planner: long videos with LaSOT's motion, absence and scale statistics).
PRESETS = ("default", "lasot-like")

__all__ = [
    "MAX_OBJECTS_PER_SEQUENCE",
    "PRESETS",
    "SHAPE_FAMILIES",
    "Scene",
    "SyntheticVideo",
    "generate_sequence",
    "iter_dataset",
    "plan_scene",
    "render_frame",
    "sequence_seed",
    "target_annotations",
    "shape_mask",
]


@dataclasses.dataclass
class SyntheticVideo:
    """One rendered video. Object 0 is the tracking target."""

    frames: np.ndarray  # (F, H, W, 3) uint8 RGB
    boxes: np.ndarray  # (F, K, 4) float64 xywh clipped to the image; NaN when not visible
    visible: np.ndarray  # (F, K) bool: at least one pixel of the object is drawn
    ids: np.ndarray  # (K,) int64 identities, unique across a dataset
    full_occlusion: np.ndarray  # (F,) bool: target inside the image but no pixel visible
    out_of_view: np.ndarray  # (F,) bool: target entirely outside the image
    full_boxes: np.ndarray  # (F, K, 4) float64 unclipped object extents (always finite)
    visibility: np.ndarray  # (F, K) float64 visible pixels / pixels of the whole object
    object_class: str
    seed: int
    scene: Scene
    masks: np.ndarray | None = None  # (F, H, W) int16: -1 background, k object, K+j occluder

    @property
    def target_absent(self) -> np.ndarray:
        return self.full_occlusion | self.out_of_view


# ----------------------------------------------------------------------------- videos


def plan_scene(seed: int, num_frames: int, image_size: tuple[int, int] = (160, 224),
               num_distractors: int = 3, *, occlusion: bool = True, out_of_view: bool = True,
               preset: str = "default") -> Scene:
    """Plan one video (nothing drawn) with the planner of `preset` (one of PRESETS):
    `synthetic_scene.plan_scene` for 'default', `synthetic_lasot.plan_lasot_like_scene` for
    'lasot-like'. Raises ValueError for an unknown preset and the planners' argument errors."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {PRESETS}")
    planner = plan_lasot_like_scene if preset == "lasot-like" else synthetic_scene.plan_scene
    return planner(seed, num_frames, image_size, num_distractors, occlusion=occlusion,
                   out_of_view=out_of_view)


def generate_sequence(
    seed: int,
    num_frames: int,
    image_size: tuple[int, int] = (160, 224),
    num_distractors: int = 3,
    *,
    occlusion: bool = True,
    out_of_view: bool = True,
    id_offset: int | None = None,
    keep_masks: bool = False,
    preset: str = "default",
) -> SyntheticVideo:
    """Plan and render one video; see the module docstring for what it contains.

    `preset`: 'default' or 'lasot-like' (`synthetic_scene.PRESETS`; the latter's long videos
    follow LaSOT's motion, absence and scale statistics, see `synthetic_lasot`).

    `id_offset`: identities are `id_offset + 1 .. id_offset + K`; by default
    `seed * MAX_OBJECTS_PER_SEQUENCE`, so videos with different seeds never share an identity.
    """
    scene = plan_scene(
        seed, num_frames, image_size, num_distractors, occlusion=occlusion, out_of_view=out_of_view,
        preset=preset,
    )
    height, width = scene.image_size
    num_objects = scene.num_objects
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    masks = np.empty((num_frames, height, width), dtype=np.int16) if keep_masks else None
    visible_pixels = np.zeros((num_frames, num_objects), dtype=np.int64)
    for t in range(num_frames):
        frame, mask = render_frame(scene, t)
        frames[t] = frame
        if masks is not None:
            masks[t] = mask
        counts = np.bincount(mask.ravel().astype(np.int64) + 1, minlength=num_objects + 1)
        visible_pixels[t] = counts[1 : num_objects + 1]

    full = scene.object_boxes.astype(np.float64)
    area_cache: dict[tuple[int, int], int] = {}
    object_pixels = np.zeros((num_frames, num_objects))
    for t in range(num_frames):
        for k in range(num_objects):
            size = (int(full[t, k, 3]), int(full[t, k, 2]))
            if size not in area_cache:
                area_cache[size] = int(shape_mask(scene.shape, *size).sum())
            object_pixels[t, k] = area_cache[size]
    x0 = np.clip(full[..., 0], 0, width)
    y0 = np.clip(full[..., 1], 0, height)
    x1 = np.clip(full[..., 0] + full[..., 2], 0, width)
    y1 = np.clip(full[..., 1] + full[..., 3], 0, height)
    in_view = (x1 > x0) & (y1 > y0)
    visible = visible_pixels > 0
    boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=-1)
    boxes[~visible] = np.nan

    if id_offset is None:
        id_offset = int(seed) * MAX_OBJECTS_PER_SEQUENCE
    return SyntheticVideo(
        frames=frames,
        boxes=boxes,
        visible=visible,
        ids=np.arange(id_offset + 1, id_offset + num_objects + 1, dtype=np.int64),
        full_occlusion=in_view[:, 0] & ~visible[:, 0],
        out_of_view=~in_view[:, 0],
        full_boxes=full,
        visibility=visible_pixels / np.maximum(object_pixels, 1),
        object_class=scene.shape,
        seed=int(seed),
        scene=scene,
        masks=masks,
    )


# ----------------------------------------------------------------------------- datasets


def sequence_seed(dataset_seed: int, index: int) -> int:
    """Seed of the `index`-th video of a dataset: independent streams, stable across runs."""
    return int(np.random.SeedSequence([int(dataset_seed), int(index)]).generate_state(1)[0])


def iter_dataset(
    sequences: int,
    frames: int,
    seed: int,
    image_size: tuple[int, int] = (160, 224),
    num_distractors: int = 3,
    preset: str = "default",
):
    """Yield the dataset's videos one by one. Identities are contiguous and unique across the
    dataset: video i owns ids i*K+1 .. (i+1)*K with K = num_distractors + 1. `preset`: see
    `generate_sequence`."""
    if sequences < 1:
        raise ValueError(f"sequences must be >= 1, got {sequences}")
    if frames < 2:
        raise ValueError(f"frames must be >= 2 (a template and a search frame), got {frames}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {PRESETS}")
    num_objects = num_distractors + 1
    for index in range(sequences):
        yield generate_sequence(
            sequence_seed(seed, index),
            frames,
            image_size,
            num_distractors,
            id_offset=index * num_objects,
            preset=preset,
        )
