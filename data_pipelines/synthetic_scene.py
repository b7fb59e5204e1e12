"""Scene planning for the synthetic videos: the whole video decided before any pixel is drawn.

`plan_scene` turns a seed into a `Scene` (see `data_pipelines.synthetic_render`) in named
steps, each drawing from ONE random generator in a fixed order:

  1. camera shake and the shape family;
  2. looks: the shared two-colour palette, one texture per object, rotation and illumination;
  3. sizes: per-frame width and height of every object;
  4. paths: the target's wander, distractor 1 steered through the target (the crossing), the
     other distractors placed clear of the target on frame 0 where there is room;
  5. depth: the drawing order (the crossing distractor and crowded ones behind the target);
  6. events (videos of >= 20 frames): the target leaves the image and comes back, and an
     occluder slides over it, covers it completely for a while and leaves;
  7. a thin static bar, kept off the target on frame 0 when there is room;
  8. integer boxes moved by the camera shake, the occluders' textures and the background.

Reordering the steps, or the draws inside one, changes every video of every seed: the shipped
demo table and tests/data_pipelines/test_synthetic.py's regression hashes pin them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_pipelines.synthetic_render import (SHAPE_FAMILIES, Scene, background_image, hsv_to_rgb,
                                              object_texture)

# Identity offsets: ids of sequence `seed` start at seed * MAX_OBJECTS_PER_SEQUENCE + 1 unless
# the caller (iter_dataset, writers.write_dataset) hands out contiguous ids itself.
MAX_OBJECTS_PER_SEQUENCE = 64
MIN_EVENT_FRAMES = 20  # shorter videos get no occlusion and no out-of-view period


# ----------------------------------------------------------------------------- motion helpers


def _reflect(values: np.ndarray, low: np.ndarray | float, high: np.ndarray | float) -> np.ndarray:
    """Fold positions back into [low, high] as if bouncing off the walls."""
    span = np.maximum(np.asarray(high, dtype=np.float64) - low, 1e-6)
    folded = np.mod(values - low, 2 * span)
    return np.where(folded > span, 2 * span - folded, folded) + low


def _window_profile(num_frames: int, start: int, ramp: int, hold: int) -> np.ndarray:
    """0 before `start`, rising linearly to 1 over `ramp` frames, 1 for `hold`, falling back."""
    t = np.arange(num_frames, dtype=np.float64)
    rise = np.clip((t - start + 1) / ramp, 0.0, 1.0)
    fall = np.clip((start + 2 * ramp + hold - 1 - t) / ramp, 0.0, 1.0)
    return np.minimum(rise, fall)


def _sizes(rng: np.random.Generator, num_frames: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame width and height with smooth scale and aspect-ratio change."""
    t = np.arange(num_frames)
    period_s, period_a = rng.uniform(0.6, 1.5, size=2) * max(num_frames, 20)
    log_scale = 0.3 * np.sin(2 * np.pi * t / period_s + rng.uniform(0, 2 * np.pi))
    log_aspect = np.log(rng.uniform(0.6, 1.6)) + 0.25 * np.sin(
        2 * np.pi * t / period_a + rng.uniform(0, 2 * np.pi)
    )
    scale = base * np.exp(log_scale)
    width = np.maximum(8.0, scale * np.exp(log_aspect / 2))
    height = np.maximum(8.0, scale * np.exp(-log_aspect / 2))
    return width, height


def _wander(rng: np.random.Generator, num_frames: int, start: np.ndarray, speed: float) -> np.ndarray:
    """Unbounded smooth path: constant velocity plus two slow wobbles per axis, (F, 2)."""
    t = np.arange(num_frames, dtype=np.float64)[:, None]
    direction = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.cos(direction), np.sin(direction)])
    path = start[None, :] + velocity[None, :] * t
    for _ in range(2):
        amplitude = rng.uniform(0.5, 2.0, size=2) * speed * 6
        period = rng.uniform(0.3, 1.0) * max(num_frames, 20)
        path += amplitude * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, size=2))
    return path


def _boxes_overlap(a: np.ndarray, b: np.ndarray, pad: float = 2.0) -> bool:
    return bool(a[0] - pad < b[0] + b[2] and b[0] - pad < a[0] + a[2]
                and a[1] - pad < b[1] + b[3] and b[1] - pad < a[1] + a[3])


def _camera_shake(rng: np.random.Generator, num_frames: int, margin: int) -> np.ndarray:
    """(F, 2) integer camera offsets: a damped random walk with occasional jolts."""
    steps = rng.normal(0.0, 0.5, size=(num_frames, 2))
    jolts = rng.random(num_frames) < 0.04
    steps[jolts] += rng.normal(0.0, margin, size=(int(jolts.sum()), 2))
    offsets = np.zeros((num_frames, 2))
    for t in range(1, num_frames):
        offsets[t] = 0.85 * offsets[t - 1] + steps[t]
    return np.clip(np.round(offsets), -margin, margin).astype(np.int64)


# ----------------------------------------------------------------------------- plan steps


@dataclasses.dataclass
class _Looks:
    hue: float  # palette hue (OpenCV 0..180); the occluders take the opposite hue
    textures: list[np.ndarray]  # K object textures
    rotation: np.ndarray  # (F, K) degrees
    gain: np.ndarray  # (F, K) illumination multiplier


@dataclasses.dataclass
class _Motion:
    """Geometry in float image coordinates before the camera shake is applied."""

    widths: np.ndarray  # (F, K)
    heights: np.ndarray  # (F, K)
    centres: np.ndarray  # (F, K, 2) x, y
    limits: np.ndarray  # (2,) image width, height
    margin: int

    @property
    def half(self) -> np.ndarray:  # (F, K, 2) half extents
        return np.stack([self.widths, self.heights], axis=-1) / 2

    def initial_box(self, k: int) -> np.ndarray:
        """Object k's frame-0 box x0, y0, w, h."""
        half = self.half[0, k]
        return np.array([*(self.centres[0, k] - half), self.widths[0, k], self.heights[0, k]])


@dataclasses.dataclass
class _EventTiming:
    ramp: int  # frames to go in (and out) of an event
    hold_occluded: int  # frames the occluder covers the target
    hold_out: int  # frames the target stays out of view
    occlusion_start: int


def _check_arguments(num_frames: int, height: int, width: int, num_distractors: int) -> None:
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if height < 48 or width < 48:
        raise ValueError(f"image_size must be at least 48x48, got {(height, width)}")
    if not 0 <= num_distractors < MAX_OBJECTS_PER_SEQUENCE:
        raise ValueError(
            f"num_distractors must be in [0, {MAX_OBJECTS_PER_SEQUENCE - 1}], got {num_distractors}"
        )


def _plan_looks(rng: np.random.Generator, num_frames: int, num_objects: int) -> _Looks:
    """Step 2: one palette for all objects, a private pattern each, slow pose/light drift."""
    frames_t = np.arange(num_frames)
    # Shared palette = shared colour statistics; per-object jitter is small on purpose.
    hue = rng.uniform(0, 180)
    colour_a = hsv_to_rgb(hue, rng.uniform(150, 230), rng.uniform(170, 240))
    colour_b = hsv_to_rgb(hue + rng.uniform(20, 60), rng.uniform(120, 220), rng.uniform(60, 120))
    # Stripe orientations are close too; identity lives in frequency, phase and spots.
    stripe_angle = rng.uniform(0, np.pi)
    textures = [
        object_texture(
            rng,
            colour_a + rng.normal(0, 5, 3),
            colour_b + rng.normal(0, 5, 3),
            stripe_angle + rng.uniform(-0.4, 0.4),
        )
        for _ in range(num_objects)
    ]
    # Slow in-plane rotation of every object's texture (pose change: the frame-1 template
    # stops matching the target exactly, as with real objects).
    rotation = rng.uniform(10, 35, num_objects) * np.sin(
        2 * np.pi * frames_t[:, None] / (rng.uniform(0.4, 1.0, num_objects) * max(num_frames, 20))
        + rng.uniform(0, 2 * np.pi, num_objects)
    )
    gain = 1.0 + 0.15 * np.sin(
        2 * np.pi * frames_t[:, None] / (rng.uniform(0.3, 1.0, num_objects) * max(num_frames, 20))
        + rng.uniform(0, 2 * np.pi, num_objects)
    )
    return _Looks(hue=hue, textures=textures, rotation=rotation, gain=gain)


def _plan_sizes(
    rng: np.random.Generator, num_frames: int, num_objects: int, short_side: int
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: (F, K) widths and heights around one base size with per-object jitter."""
    base_size = rng.uniform(0.14, 0.22) * short_side
    widths = np.zeros((num_frames, num_objects))
    heights = np.zeros((num_frames, num_objects))
    for k in range(num_objects):
        widths[:, k], heights[:, k] = _sizes(rng, num_frames, base_size * rng.uniform(0.85, 1.15))
    return widths, heights


def _plan_paths(rng: np.random.Generator, motion: _Motion, speed: float) -> list[int]:
    """Step 4: fill motion.centres; returns the distractors that found no free frame-0 spot."""
    num_frames, num_objects = motion.widths.shape
    frames_t = np.arange(num_frames)
    limits, half, margin = motion.limits, motion.half, motion.margin

    start = rng.uniform(0.3, 0.7, size=2) * limits
    path = _wander(rng, num_frames, start, speed)
    motion.centres[:, 0] = _reflect(path, half[:, 0] + margin, limits - half[:, 0] - margin)

    crowded: list[int] = []
    for k in range(1, num_objects):
        low, high = half[:, k] * 0.5, limits - half[:, k] * 0.5
        if k == 1 and num_frames >= 10:
            # Steer distractor 1 straight through the target's position at a crossing time.
            t_cross = int(rng.integers(int(0.3 * num_frames), int(0.5 * num_frames) + 1))
            direction = rng.uniform(0, 2 * np.pi)
            velocity = 1.5 * speed * np.array([np.cos(direction), np.sin(direction)])
            path = motion.centres[t_cross, 0] + velocity * (frames_t[:, None] - t_cross)
            motion.centres[:, k] = _reflect(path, low, high)
            continue
        for _ in range(50):  # keep frame 0 clear of distractors that may be drawn on top
            path = _wander(rng, num_frames, rng.uniform(0.05, 0.95, size=2) * limits, speed)
            motion.centres[:, k] = _reflect(path, low, high)
            if not _boxes_overlap(motion.initial_box(k), motion.initial_box(0)):
                break
        else:
            crowded.append(k)  # no free spot found: draw it behind the target instead
    return crowded


def _plan_draw_order(rng: np.random.Generator, num_objects: int, crowded: list[int]) -> list[int]:
    """Step 5: object indices back to front. The crossing distractor (1) and the crowded ones
    pass behind the target; the others get a random depth in front of or behind it."""
    behind = ([1] if num_objects > 1 else []) + crowded
    others = [k for k in range(2, num_objects) if k not in crowded]
    depth = {k: rng.uniform(-1, 1) for k in others}
    return behind + [k for k in others if depth[k] < 0] + [0] + [k for k in others if depth[k] >= 0]


def _plan_event_timing(rng: np.random.Generator, num_frames: int) -> _EventTiming:
    """Step 6a: event durations scale with the video; the occlusion starts at 10-20 %."""
    ramp = max(2, round(0.05 * num_frames))
    hold_occluded = max(3, round(0.15 * num_frames))
    hold_out = max(3, round(0.12 * num_frames))
    occlusion_start = int(rng.integers(max(1, round(0.1 * num_frames)), round(0.2 * num_frames) + 1))
    return _EventTiming(ramp, hold_occluded, hold_out, occlusion_start)


def _plan_out_of_view(
    rng: np.random.Generator, motion: _Motion, timing: _EventTiming, after_occlusion: bool
) -> None:
    """Step 6b: move the target out of the image through its nearest side and back, after the
    occlusion (when there is one) and from 45 % of the video on; skipped without room."""
    num_frames = motion.widths.shape[0]
    width, height = motion.limits
    occlusion_end = timing.occlusion_start + 2 * timing.ramp + timing.hold_occluded
    first = max(occlusion_end + 1 if after_occlusion else 1, round(0.45 * num_frames))
    last = num_frames - (2 * timing.ramp + timing.hold_out) - 1
    if first > last:
        return
    out_start = int(rng.integers(first, last + 1))
    profile = _window_profile(num_frames, out_start, timing.ramp, timing.hold_out)
    target = motion.centres[:, 0]
    centre = target[out_start]
    # Leave through the nearest side, far enough to be fully outside.
    gaps = np.array([centre[0], width - centre[0], centre[1], height - centre[1]])
    side = int(np.argmin(gaps))
    exit_point = target.copy()
    reach = motion.half[:, 0].max(axis=0) + 2 * motion.margin + 2
    if side == 0:
        exit_point[:, 0] = -reach[0]
    elif side == 1:
        exit_point[:, 0] = width + reach[0]
    elif side == 2:
        exit_point[:, 1] = -reach[1]
    else:
        exit_point[:, 1] = height + reach[1]
    motion.centres[:, 0] = (1 - profile[:, None]) * target + profile[:, None] * exit_point


def _plan_occluder(
    rng: np.random.Generator, motion: _Motion, timing: _EventTiming, boxes: np.ndarray
) -> None:
    """Step 6c: occluder 0 slides in from one side, follows the target while covering it, and
    leaves by the other; written into boxes (F, 4) as rounded x0, y0, w, h (w = 0 inactive)."""
    num_frames = motion.widths.shape[0]
    frames_t = np.arange(num_frames)
    width = motion.limits[0]
    margin = motion.margin
    profile = _window_profile(num_frames, timing.occlusion_start, timing.ramp, timing.hold_occluded)
    window = profile > 0
    occluder_w = motion.widths[window, 0].max() * 1.25 + 4
    occluder_h = motion.heights[window, 0].max() * 1.25 + 4
    from_left = bool(rng.random() < 0.5)
    entry = -occluder_w / 2 - margin - 1
    exit_ = width + occluder_w / 2 + margin + 1
    first_edge, second_edge = (entry, exit_) if from_left else (exit_, entry)
    peak = timing.occlusion_start + timing.ramp - 1 + timing.hold_occluded // 2
    edge = np.where(frames_t <= peak, first_edge, second_edge)
    occ_x = (1 - profile) * edge + profile * motion.centres[:, 0, 0]
    occ_y = motion.centres[:, 0, 1]
    boxes[:, 0] = np.round(occ_x - occluder_w / 2).astype(np.int64)
    boxes[:, 1] = np.round(occ_y - occluder_h / 2).astype(np.int64)
    boxes[:, 2] = np.where(window, round(occluder_w), 0)
    boxes[:, 3] = round(occluder_h)


def _plan_bar(rng: np.random.Generator, motion: _Motion, short_side: int) -> list[int]:
    """Step 7: the thin static bar (partial occlusions of whatever passes behind it), as
    x0, y0, w, h spanning the image height; off the target's frame-0 columns when possible."""
    width, height = (int(v) for v in motion.limits)
    margin = motion.margin
    bar = max(3, short_side // 40)
    target_box = motion.initial_box(0)
    target_x0, target_x1 = target_box[0] - bar - 2, target_box[0] + motion.widths[0, 0] + 2
    for _ in range(20):
        bar_x = int(rng.integers(width // 8, width - width // 8))
        if not target_x0 <= bar_x <= target_x1:
            break
    return [bar_x, -margin, bar, height + 2 * margin]


def _integer_boxes(motion: _Motion) -> np.ndarray:
    """(F, K, 4) int64 x0, y0, w, h: the centred float boxes rounded to whole pixels."""
    widths, heights, centres = motion.widths, motion.heights, motion.centres
    boxes = np.zeros(widths.shape + (4,), dtype=np.int64)
    boxes[..., 2] = np.round(widths).astype(np.int64)
    boxes[..., 3] = np.round(heights).astype(np.int64)
    boxes[..., 0] = np.round(centres[..., 0] - widths / 2).astype(np.int64)
    boxes[..., 1] = np.round(centres[..., 1] - heights / 2).astype(np.int64)
    return boxes


def _occluder_textures(rng: np.random.Generator, hue: float) -> list[np.ndarray]:
    """Step 8: two dull textures of the palette's opposite hue (the occluder and the bar)."""
    occluder_hue = hue + 90
    return [
        object_texture(
            rng,
            hsv_to_rgb(occluder_hue, rng.uniform(20, 80), rng.uniform(110, 170)),
            hsv_to_rgb(occluder_hue, rng.uniform(20, 80), rng.uniform(40, 90)),
        )
        for _ in range(2)
    ]


# ----------------------------------------------------------------------------- planning


def plan_scene(
    seed: int,
    num_frames: int,
    image_size: tuple[int, int] = (160, 224),
    num_distractors: int = 3,
    *,
    occlusion: bool = True,
    out_of_view: bool = True,
) -> Scene:
    """Decide every object's path, size, look and every occluder, without drawing anything.

    Events (occlusion, out-of-view) need at least 20 frames; shorter videos get none. Frame 0
    shows the target whole (trackers are initialised there): distractors that cannot be placed
    clear of it are drawn behind it, and the thin bar avoids it when the image has room.
    Raises ValueError for num_frames < 1, an image smaller than 48x48 or num_distractors
    outside [0, MAX_OBJECTS_PER_SEQUENCE - 1].
    """
    height, width = (int(v) for v in image_size)
    _check_arguments(num_frames, height, width, num_distractors)
    rng = np.random.default_rng(seed)
    num_objects = num_distractors + 1
    short_side = min(height, width)
    margin = max(2, short_side // 40)

    shake = _camera_shake(rng, num_frames, margin)  # step 1
    shape = str(rng.choice(SHAPE_FAMILIES))
    looks = _plan_looks(rng, num_frames, num_objects)  # step 2
    widths, heights = _plan_sizes(rng, num_frames, num_objects, short_side)  # step 3
    speed = rng.uniform(0.6, 1.5) * short_side / 100.0
    motion = _Motion(widths, heights, centres=np.zeros((num_frames, num_objects, 2)),
                     limits=np.array([width, height], dtype=np.float64), margin=margin)
    crowded = _plan_paths(rng, motion, speed)  # step 4
    draw_order = _plan_draw_order(rng, num_objects, crowded)  # step 5

    occluder_boxes = np.zeros((num_frames, 2, 4), dtype=np.int64)
    if num_frames >= MIN_EVENT_FRAMES:  # step 6
        timing = _plan_event_timing(rng, num_frames)
        if out_of_view:
            _plan_out_of_view(rng, motion, timing, after_occlusion=occlusion)
        if occlusion:
            _plan_occluder(rng, motion, timing, occluder_boxes[:, 0])
    occluder_boxes[:, 1] = _plan_bar(rng, motion, short_side)  # step 7

    object_boxes = _integer_boxes(motion)  # step 8
    # Camera motion moves everything in the image the opposite way.
    object_boxes[..., :2] -= shake[:, None, :]
    occluder_boxes[..., :2] -= shake[:, None, :]
    occluder_textures = _occluder_textures(rng, looks.hue)
    background = background_image(rng, height + 2 * margin, width + 2 * margin)
    return Scene(image_size=(height, width), margin=margin, background=background, shake=shake,
                 shape=shape, object_boxes=object_boxes, object_textures=looks.textures,
                 object_gain=looks.gain, object_rotation=looks.rotation, draw_order=draw_order,
                 occluder_boxes=occluder_boxes, occluder_textures=occluder_textures)
