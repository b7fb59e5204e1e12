"""Rendering of the synthetic videos: object and background textures, and frame drawing.

The renderer knows nothing about motion or events: a `Scene` (the planner's output,
`data_pipelines.synthetic_scene.plan_scene`) says where every object and occluder is on every
frame and what it looks like, and `render_frame` draws one frame of it together with the
object-id mask from which the generator derives visibility, boxes and absence flags.

The texture makers draw from the planner's random generator, in the planner's order: changing
how many numbers they draw changes every video of a seed.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

SHAPE_FAMILIES = ("ellipse", "roundrect")
TEXTURE_SIZE = 48  # side of every square texture before it is resized to a box


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


def hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    """One colour from OpenCV-style HSV (hue 0..180, s and v 0..255) to float RGB."""
    pixel = np.array([[[hue % 180, saturation, value]]], dtype=np.uint8)
    return cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def object_texture(
    rng: np.random.Generator, colour_a: np.ndarray, colour_b: np.ndarray, angle: float | None = None
) -> np.ndarray:
    """A two-colour pattern: stripes of a private orientation/frequency plus a few spots.

    The palette is shared by all objects of a video (same colour statistics); the pattern is
    private (identity). Sinusoidal stripes mix the two colours about 50/50 whatever their
    orientation, which keeps the mean colour of every object nearly the same.
    """
    size = TEXTURE_SIZE
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


def background_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
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


# ----------------------------------------------------------------------------- drawing


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
