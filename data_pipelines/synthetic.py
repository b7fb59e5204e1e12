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
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

SHAPE_FAMILIES = ("ellipse", "roundrect")
# Identity offsets: ids of sequence `seed` start at seed * MAX_OBJECTS_PER_SEQUENCE + 1 unless
# the caller (write_dataset) hands out contiguous ids itself.
MAX_OBJECTS_PER_SEQUENCE = 64
_TEXTURE_SIZE = 48


@dataclasses.dataclass
class Scene:
    """Everything needed to render any frame again (tests re-render with objects hidden)."""

    image_size: tuple[int, int]
    margin: int  # background is larger than the image by this on each side (camera shake)
    background: np.ndarray  # (H + 2m, W + 2m, 3) uint8
    shake: np.ndarray  # (F, 2) int (dx, dy): camera offset per frame
    shape: str  # shape family shared by all objects
    object_boxes: np.ndarray  # (F, K, 4) int x0, y0, w, h in image coordinates (unclipped)
    object_textures: list[np.ndarray]  # K textures (T, T, 3) uint8
    object_gain: np.ndarray  # (F, K) float illumination multiplier
    object_rotation: np.ndarray  # (F, K) float degrees: in-plane rotation of each texture
    draw_order: list[int]  # object indices back to front
    occluder_boxes: np.ndarray  # (F, J, 4) int; w == 0 where the occluder is inactive
    occluder_textures: list[np.ndarray]

    @property
    def num_frames(self) -> int:
        return int(self.object_boxes.shape[0])

    @property
    def num_objects(self) -> int:
        return int(self.object_boxes.shape[1])


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


# ----------------------------------------------------------------------------- textures


def shape_mask(shape: str, height: int, width: int) -> np.ndarray:
    """Boolean (h, w) silhouette that touches all four sides, so the box is tight."""
    ys = (np.arange(height) + 0.5) / height * 2.0 - 1.0
    xs = (np.arange(width) + 0.5) / width * 2.0 - 1.0
    if shape == "ellipse":
        inside = ys[:, None] ** 2 + xs[None, :] ** 2 <= 1.0
        # Very flat ellipses can miss their extreme row/column; keep the box tight regardless.
        inside[height // 2, :] = True
        inside[:, width // 2] = True
        return inside
    if shape == "roundrect":
        radius = max(1, min(height, width) // 4)
        inside = np.ones((height, width), dtype=bool)
        yy, xx = np.mgrid[0:radius, 0:radius]
        corner = (radius - 0.5 - yy) ** 2 + (radius - 0.5 - xx) ** 2 > radius**2
        inside[:radius, :radius] &= ~corner
        inside[:radius, width - radius :] &= ~corner[:, ::-1]
        inside[height - radius :, :radius] &= ~corner[::-1, :]
        inside[height - radius :, width - radius :] &= ~corner[::-1, ::-1]
        return inside
    raise ValueError(f"unknown shape family {shape!r}; expected one of {SHAPE_FAMILIES}")


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    """One colour from OpenCV-style HSV (hue 0..180, s and v 0..255) to float RGB."""
    pixel = np.array([[[hue % 180, saturation, value]]], dtype=np.uint8)
    return cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def _object_texture(
    rng: np.random.Generator, colour_a: np.ndarray, colour_b: np.ndarray, angle: float | None = None
) -> np.ndarray:
    """A two-colour pattern: stripes of a private orientation/frequency plus a few spots.

    The palette is shared by all objects of a video (same colour statistics); the pattern is
    private (identity). Sinusoidal stripes mix the two colours about 50/50 whatever their
    orientation, which keeps the mean colour of every object nearly the same.
    """
    size = _TEXTURE_SIZE
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi) if angle is None else angle
    cycles = rng.uniform(1.5, 4.0)
    phase = rng.uniform(0, 2 * np.pi)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * cycles * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    spots = np.zeros_like(stripes)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(0.2, 0.8, size=2)
        radius = rng.uniform(0.06, 0.14)
        sign = rng.choice([-1.0, 1.0])
        spots += sign * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    weight = np.clip(stripes + 0.6 * spots, 0.0, 1.0)[..., None]
    noise = rng.normal(0.0, 6.0, size=(size, size, 3))
    texture = weight * colour_a + (1.0 - weight) * colour_b + noise
    return np.clip(texture, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Low-frequency colour noise plus random clutter rectangles and fine grain."""
    coarse = rng.uniform(40, 200, size=(max(2, height // 24), max(2, width // 24), 3))
    image = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(8, 16))):
        h = int(rng.integers(height // 16 + 2, height // 4 + 3))
        w = int(rng.integers(width // 16 + 2, width // 4 + 3))
        y0 = int(rng.integers(0, height - h))
        x0 = int(rng.integers(0, width - w))
        colour = rng.uniform(30, 220, size=3)
        image[y0 : y0 + h, x0 : x0 + w] = 0.5 * image[y0 : y0 + h, x0 : x0 + w] + 0.5 * colour
    image += rng.normal(0.0, 8.0, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- motion


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
    return bool(
        a[0] - pad < b[0] + b[2] and b[0] - pad < a[0] + a[2]
        and a[1] - pad < b[1] + b[3] and b[1] - pad < a[1] + a[3]
    )


def _camera_shake(rng: np.random.Generator, num_frames: int, margin: int) -> np.ndarray:
    """(F, 2) integer camera offsets: a damped random walk with occasional jolts."""
    steps = rng.normal(0.0, 0.5, size=(num_frames, 2))
    jolts = rng.random(num_frames) < 0.04
    steps[jolts] += rng.normal(0.0, margin, size=(int(jolts.sum()), 2))
    offsets = np.zeros((num_frames, 2))
    for t in range(1, num_frames):
        offsets[t] = 0.85 * offsets[t - 1] + steps[t]
    return np.clip(np.round(offsets), -margin, margin).astype(np.int64)


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
    """
    height, width = (int(v) for v in image_size)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if height < 48 or width < 48:
        raise ValueError(f"image_size must be at least 48x48, got {image_size}")
    if not 0 <= num_distractors < MAX_OBJECTS_PER_SEQUENCE:
        raise ValueError(
            f"num_distractors must be in [0, {MAX_OBJECTS_PER_SEQUENCE - 1}], got {num_distractors}"
        )
    rng = np.random.default_rng(seed)
    num_objects = num_distractors + 1
    frames_t = np.arange(num_frames)
    short_side = min(height, width)
    margin = max(2, short_side // 40)
    shake = _camera_shake(rng, num_frames, margin)
    shape = str(rng.choice(SHAPE_FAMILIES))

    # Shared palette = shared colour statistics; per-object jitter is small on purpose.
    hue = rng.uniform(0, 180)
    colour_a = _hsv_to_rgb(hue, rng.uniform(150, 230), rng.uniform(170, 240))
    colour_b = _hsv_to_rgb(hue + rng.uniform(20, 60), rng.uniform(120, 220), rng.uniform(60, 120))
    # Stripe orientations are close too; identity lives in frequency, phase and spots.
    stripe_angle = rng.uniform(0, np.pi)
    textures = [
        _object_texture(
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

    base_size = rng.uniform(0.14, 0.22) * short_side
    widths = np.zeros((num_frames, num_objects))
    heights = np.zeros((num_frames, num_objects))
    for k in range(num_objects):
        widths[:, k], heights[:, k] = _sizes(rng, num_frames, base_size * rng.uniform(0.85, 1.15))

    speed = rng.uniform(0.6, 1.5) * short_side / 100.0
    centres = np.zeros((num_frames, num_objects, 2))
    limits = np.array([width, height], dtype=np.float64)
    half = np.stack([widths, heights], axis=-1) / 2  # (F, K, 2)

    start = rng.uniform(0.3, 0.7, size=2) * limits
    path = _wander(rng, num_frames, start, speed)
    centres[:, 0] = _reflect(path, half[:, 0] + margin, limits - half[:, 0] - margin)

    def initial_box(k: int) -> np.ndarray:
        return np.array([*(centres[0, k] - half[0, k]), widths[0, k], heights[0, k]])

    crowded: list[int] = []
    for k in range(1, num_objects):
        low, high = half[:, k] * 0.5, limits - half[:, k] * 0.5
        if k == 1 and num_frames >= 10:
            # Steer distractor 1 straight through the target's position at a crossing time.
            t_cross = int(rng.integers(int(0.3 * num_frames), int(0.5 * num_frames) + 1))
            direction = rng.uniform(0, 2 * np.pi)
            velocity = 1.5 * speed * np.array([np.cos(direction), np.sin(direction)])
            path = centres[t_cross, 0] + velocity * (frames_t[:, None] - t_cross)
            centres[:, k] = _reflect(path, low, high)
            continue
        for _ in range(50):  # keep frame 0 clear of distractors that may be drawn on top
            path = _wander(rng, num_frames, rng.uniform(0.05, 0.95, size=2) * limits, speed)
            centres[:, k] = _reflect(path, low, high)
            if not _boxes_overlap(initial_box(k), initial_box(0)):
                break
        else:
            crowded.append(k)  # no free spot found: draw it behind the target instead

    # Crossing distractor passes behind the target; the others get random depth.
    behind = ([1] if num_objects > 1 else []) + crowded
    others = [k for k in range(2, num_objects) if k not in crowded]
    depth = {k: rng.uniform(-1, 1) for k in others}
    draw_order = behind + [k for k in others if depth[k] < 0] + [0] + [k for k in others if depth[k] >= 0]

    occluder_boxes = np.zeros((num_frames, 2, 4), dtype=np.int64)
    if num_frames >= 20:
        ramp = max(2, round(0.05 * num_frames))
        hold_occluded = max(3, round(0.15 * num_frames))
        hold_out = max(3, round(0.12 * num_frames))
        occlusion_start = int(rng.integers(max(1, round(0.1 * num_frames)), round(0.2 * num_frames) + 1))
        occlusion_end = occlusion_start + 2 * ramp + hold_occluded  # 2 frames after the last covered
        if out_of_view:
            first = max(occlusion_end + 1 if occlusion else 1, round(0.45 * num_frames))
            last = num_frames - (2 * ramp + hold_out) - 1
            if first <= last:
                out_start = int(rng.integers(first, last + 1))
                profile = _window_profile(num_frames, out_start, ramp, hold_out)
                centre = centres[out_start, 0]
                # Leave through the nearest side, far enough to be fully outside.
                gaps = np.array([centre[0], width - centre[0], centre[1], height - centre[1]])
                side = int(np.argmin(gaps))
                exit_point = centres[:, 0].copy()
                reach = half[:, 0].max(axis=0) + 2 * margin + 2
                if side == 0:
                    exit_point[:, 0] = -reach[0]
                elif side == 1:
                    exit_point[:, 0] = width + reach[0]
                elif side == 2:
                    exit_point[:, 1] = -reach[1]
                else:
                    exit_point[:, 1] = height + reach[1]
                centres[:, 0] = (1 - profile[:, None]) * centres[:, 0] + profile[:, None] * exit_point
        if occlusion:
            profile = _window_profile(num_frames, occlusion_start, ramp, hold_occluded)
            window = profile > 0
            occluder_w = widths[window, 0].max() * 1.25 + 4
            occluder_h = heights[window, 0].max() * 1.25 + 4
            # Slide in from one side, follow the target while covering it, leave by the other.
            from_left = bool(rng.random() < 0.5)
            entry = -occluder_w / 2 - margin - 1
            exit_ = width + occluder_w / 2 + margin + 1
            first_edge, second_edge = (entry, exit_) if from_left else (exit_, entry)
            peak = occlusion_start + ramp - 1 + hold_occluded // 2
            edge = np.where(frames_t <= peak, first_edge, second_edge)
            occ_x = (1 - profile) * edge + profile * centres[:, 0, 0]
            occ_y = centres[:, 0, 1]
            occluder_boxes[:, 0, 0] = np.round(occ_x - occluder_w / 2).astype(np.int64)
            occluder_boxes[:, 0, 1] = np.round(occ_y - occluder_h / 2).astype(np.int64)
            occluder_boxes[:, 0, 2] = np.where(window, round(occluder_w), 0)
            occluder_boxes[:, 0, 3] = round(occluder_h)
    # A thin static bar (partial occlusions of whatever passes behind it).
    bar = max(3, short_side // 40)
    target_x0, target_x1 = initial_box(0)[0] - bar - 2, initial_box(0)[0] + widths[0, 0] + 2
    for _ in range(20):  # keep the bar off the target on frame 0 when there is room
        bar_x = int(rng.integers(width // 8, width - width // 8))
        if not target_x0 <= bar_x <= target_x1:
            break
    occluder_boxes[:, 1] = [bar_x, -margin, bar, height + 2 * margin]

    object_boxes = np.zeros((num_frames, num_objects, 4), dtype=np.int64)
    object_boxes[..., 2] = np.round(widths).astype(np.int64)
    object_boxes[..., 3] = np.round(heights).astype(np.int64)
    object_boxes[..., 0] = np.round(centres[..., 0] - widths / 2).astype(np.int64)
    object_boxes[..., 1] = np.round(centres[..., 1] - heights / 2).astype(np.int64)
    # Camera motion moves everything in the image the opposite way.
    object_boxes[..., :2] -= shake[:, None, :]
    occluder_boxes[..., :2] -= shake[:, None, :]

    occluder_hue = hue + 90
    occluder_textures = [
        _object_texture(
            rng,
            _hsv_to_rgb(occluder_hue, rng.uniform(20, 80), rng.uniform(110, 170)),
            _hsv_to_rgb(occluder_hue, rng.uniform(20, 80), rng.uniform(40, 90)),
        )
        for _ in range(2)
    ]
    background = _background(rng, height + 2 * margin, width + 2 * margin)
    return Scene(
        image_size=(height, width),
        margin=margin,
        background=background,
        shake=shake,
        shape=shape,
        object_boxes=object_boxes,
        object_textures=textures,
        object_gain=gain,
        object_rotation=rotation,
        draw_order=draw_order,
        occluder_boxes=occluder_boxes,
        occluder_textures=occluder_textures,
    )


# ----------------------------------------------------------------------------- rendering


def _rotate(texture: np.ndarray, degrees: float) -> np.ndarray:
    size = texture.shape[0]
    matrix = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), degrees, 1.0)
    return cv2.warpAffine(texture, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _paste(
    frame: np.ndarray,
    mask: np.ndarray,
    texture: np.ndarray,
    silhouette: np.ndarray | None,
    box: np.ndarray,
    label: int,
    gain: float = 1.0,
) -> None:
    """Draw `texture` resized to `box` (clipped to the frame) where the silhouette is set."""
    x0, y0, w, h = (int(v) for v in box)
    height, width = mask.shape
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
    if w <= 0 or h <= 0 or xa >= xb or ya >= yb:
        return
    patch = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)[ya - y0 : yb - y0, xa - x0 : xb - x0]
    if gain != 1.0:
        patch = np.clip(patch.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if silhouette is None:
        frame[ya:yb, xa:xb] = patch
        mask[ya:yb, xa:xb] = label
        return
    keep = silhouette[ya - y0 : yb - y0, xa - x0 : xb - x0]
    frame[ya:yb, xa:xb][keep] = patch[keep]
    mask[ya:yb, xa:xb][keep] = label


def render_frame(scene: Scene, t: int, hidden: tuple[int, ...] | frozenset[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Draw frame `t`; objects listed in `hidden` are left out (tests use this to find which
    pixels an object changes). Returns (RGB uint8 (H, W, 3), id mask int16 (H, W))."""
    height, width = scene.image_size
    m = scene.margin
    dx, dy = (int(v) for v in scene.shake[t])
    frame = scene.background[m + dy : m + dy + height, m + dx : m + dx + width].copy()
    mask = np.full((height, width), -1, dtype=np.int16)
    for k in scene.draw_order:
        if k in hidden:
            continue
        box = scene.object_boxes[t, k]
        silhouette = shape_mask(scene.shape, int(box[3]), int(box[2]))
        texture = _rotate(scene.object_textures[k], float(scene.object_rotation[t, k]))
        _paste(frame, mask, texture, silhouette, box, k, float(scene.object_gain[t, k]))
    for j, texture in enumerate(scene.occluder_textures):
        _paste(frame, mask, texture, None, scene.occluder_boxes[t, j], scene.num_objects + j)
    return frame, mask


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
) -> SyntheticVideo:
    """Plan and render one video; see the module docstring for what it contains.

    `id_offset`: identities are `id_offset + 1 .. id_offset + K`; by default
    `seed * MAX_OBJECTS_PER_SEQUENCE`, so videos with different seeds never share an identity.
    """
    scene = plan_scene(
        seed, num_frames, image_size, num_distractors, occlusion=occlusion, out_of_view=out_of_view
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
):
    """Yield the dataset's videos one by one. Identities are contiguous and unique across the
    dataset: video i owns ids i*K+1 .. (i+1)*K with K = num_distractors + 1."""
    if sequences < 1:
        raise ValueError(f"sequences must be >= 1, got {sequences}")
    if frames < 2:
        raise ValueError(f"frames must be >= 2 (a template and a search frame), got {frames}")
    num_objects = num_distractors + 1
    for index in range(sequences):
        yield generate_sequence(
            sequence_seed(seed, index),
            frames,
            image_size,
            num_distractors,
            id_offset=index * num_objects,
        )


def write_dataset(
    out_dir: str,
    format: str,  # noqa: A002 - the brief's name; mirrors the CLI flag
    sequences: int,
    frames: int,
    seed: int,
    image_size: tuple[int, int] = (160, 224),
    num_distractors: int = 3,
    *,
    progress: bool = False,
    **writer_options,
) -> list[str]:
    """Generate `sequences` videos and write them in a real dataset layout.

    `format`: 'lasot' | 'got10k' | 'mot17' | 'trackingnet' | 'coco'. `writer_options` go to
    the layout writer (e.g. absent_box='nan', delimiter='\\t'). Returns the written sequence
    directories (COCO: image files).
    """
    from data_pipelines import writers  # writers imports this module; import lazily

    if format not in writers.WRITERS:
        raise ValueError(f"unknown format {format!r}; expected one of {sorted(writers.WRITERS)}")
    videos = iter_dataset(sequences, frames, seed, image_size, num_distractors)
    if progress:
        from tqdm import tqdm

        videos = tqdm(videos, total=sequences, desc=f"synth {format}", unit="seq")
    return writers.WRITERS[format](out_dir, videos, **writer_options)
