"""Per-example image augmentation with boxes kept in step with the pixels.

The recipe is the released DMTrack-GS one (an mmdetection-style chain), applied to each view of a
pair independently: photometric distortion -> random expand -> SSD-style min-IoU crop that keeps
the primary target -> horizontal flip -> keep-ratio rescale into a canvas bucket -> mean/std
normalisation -> zero padding to the bucket. Every function works on ONE image (H, W, 3) and its
boxes (K, 4) float64 ``x1, y1, x2, y2`` in continuous pixel coordinates (a box covering pixel
columns a..b-1 has x1 = a, x2 = b), host-side numpy/OpenCV, driven by an explicit
``np.random.Generator`` so a batch is reproducible from its seed.

Boxes are never silently dropped: each function returns a ``valid`` mask alongside, and a box
the crop cuts away (its centre leaves the patch) or the rescale shrinks below a pixel is marked
invalid. The sampler turns that mask into the batch's ``box_valid``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import cv2
import numpy as np

from dmtrack_common.boxes import iou_matrix

# Released-code normalisation (ImageNet statistics, RGB order, 0..255 scale).
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)

# mmdetection PhotoMetricDistortion defaults used by the released config.
BRIGHTNESS_DELTA = 32.0
CONTRAST_RANGE = (0.5, 1.5)
SATURATION_RANGE = (0.5, 1.5)
HUE_DELTA = 18.0  # degrees on OpenCV's 0..360 float hue scale

# SSD-style crop (MinIoURandomCrop) defaults.
SSD_MIN_IOUS = (0.1, 0.3, 0.5, 0.7, 0.9)
SSD_MIN_CROP_SIZE = 0.3
SSD_TRIALS_PER_MODE = 50
SSD_MAX_MODE_DRAWS = 20  # bounded: after this many failed modes the image stays uncropped

CANVAS_MULTIPLE = 32


@dataclasses.dataclass(frozen=True)
class AugmentSettings:
    """Switches and scales of the augmentation chain (built from the data config's `augment`)."""

    photometric: bool = True
    expand: bool = True
    expand_ratio_range: tuple[float, float] = (1.0, 4.0)
    expand_prob: float = 0.5
    ssd_crop: bool = True
    flip_prob: float = 0.5
    min_box_size: float = 1.0  # boxes narrower/shorter than this after rescale become invalid

    @classmethod
    def from_config(cls, augment_config) -> "AugmentSettings":
        return cls(
            photometric=bool(augment_config.photometric),
            expand=bool(augment_config.expand),
            expand_ratio_range=tuple(float(v) for v in augment_config.expand_ratio_range),
            expand_prob=float(augment_config.expand_prob),
            ssd_crop=bool(augment_config.ssd_crop),
            flip_prob=float(augment_config.flip_prob),
            min_box_size=float(augment_config.min_box_size),
        )


# ----------------------------------------------------------------------------- box helpers


def check_boxes(boxes_xyxy: np.ndarray, valid: np.ndarray, image_hw: tuple[int, int],
                where: str) -> None:
    """Reject NaN/inf, negative-size or fully-outside valid boxes with a message naming `where`.

    Augmentation of a garbage box yields a plausible-looking garbage target; catching it here
    keeps the error next to its source instead of in the loss.
    """
    height, width = image_hw
    for index in np.flatnonzero(valid):
        x1, y1, x2, y2 = boxes_xyxy[index]
        label = f"{where}: box {index} = (x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g})"
        if not np.all(np.isfinite(boxes_xyxy[index])):
            raise ValueError(f"{label} has a NaN or infinite coordinate")
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            raise ValueError(f"{label} has zero or negative width/height")
        if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            raise ValueError(f"{label} lies entirely outside the {width}x{height} image")


# ----------------------------------------------------------------------------- photometric


def photometric_distortion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation, hue (each with probability 1/2), float32 RGB.

    Contrast goes either before or after the HSV changes (a coin flip), as in the released chain.
    Values are not clipped, matching mmdetection: normalisation follows directly.
    """
    image = image.astype(np.float32, copy=True)
    if rng.integers(2):
        image += np.float32(rng.uniform(-BRIGHTNESS_DELTA, BRIGHTNESS_DELTA))
    contrast_first = bool(rng.integers(2))

    def contrast(img: np.ndarray) -> np.ndarray:
        if rng.integers(2):
            img *= np.float32(rng.uniform(*CONTRAST_RANGE))
        return img

    if contrast_first:
        image = contrast(image)
    saturation_on = bool(rng.integers(2))
    saturation = rng.uniform(*SATURATION_RANGE) if saturation_on else 1.0
    hue_on = bool(rng.integers(2))
    hue_shift = rng.uniform(-HUE_DELTA, HUE_DELTA) if hue_on else 0.0
    if saturation_on or hue_on:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # float32: H in [0, 360)
        hsv[..., 1] *= np.float32(saturation)
        hsv[..., 0] = np.mod(hsv[..., 0] + np.float32(hue_shift), 360.0)
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if not contrast_first:
        image = contrast(image)
    # A random channel swap is part of mmdetection's distortion but off in practice for RGB
    # pretrained backbones; we leave it out.
    return image


# ----------------------------------------------------------------------------- geometry


def random_expand(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator,
                  ratio_range: tuple[float, float] = (1.0, 4.0),
                  fill: np.ndarray = PIXEL_MEAN) -> tuple[np.ndarray, np.ndarray]:
    """Place the image at a random spot on a canvas `ratio` times larger, filled with `fill`.

    Zooming out teaches the detector small targets; the fill is the mean colour so it becomes
    zero after normalisation.
    """
    height, width = image.shape[:2]
    ratio = rng.uniform(*ratio_range)
    out_h, out_w = int(height * ratio), int(width * ratio)
    left = int(rng.uniform(0, out_w - width))
    top = int(rng.uniform(0, out_h - height))
    canvas = np.empty((out_h, out_w, image.shape[2]), dtype=np.float32)
    canvas[...] = np.asarray(fill, dtype=np.float32)
    canvas[top:top + height, left:left + width] = image
    return canvas, boxes + np.array([left, top, left, top], dtype=np.float64)


def ssd_random_crop(image: np.ndarray, boxes: np.ndarray, valid: np.ndarray,
                    rng: np.random.Generator, primary: int = 0,
                    min_ious: Sequence[float] = SSD_MIN_IOUS,
                    min_crop_size: float = SSD_MIN_CROP_SIZE
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SSD-style crop: a random patch whose IoU with every valid box is at least a drawn minimum.

    The primary target's centre must fall inside the patch so a pair never loses its target;
    other boxes whose centre leaves the patch are marked invalid, the rest are clipped to it.
    Mode "1" (no crop) is one of the draws, as in SSD; after a bounded number of failed modes the
    image is returned uncropped.
    """
    height, width = image.shape[:2]
    valid_boxes = boxes[valid]
    modes = (1.0, *min_ious)
    for _ in range(SSD_MAX_MODE_DRAWS):
        min_iou = modes[int(rng.integers(len(modes)))]
        if min_iou >= 1.0:
            return image, boxes, valid
        for _ in range(SSD_TRIALS_PER_MODE):
            new_w = rng.uniform(min_crop_size * width, width)
            new_h = rng.uniform(min_crop_size * height, height)
            if not 0.5 <= new_h / new_w <= 2.0:
                continue
            left = rng.uniform(0, width - new_w)
            top = rng.uniform(0, height - new_h)
            patch = np.array([int(left), int(top), int(left + new_w), int(top + new_h)],
                             dtype=np.float64)
            if patch[2] <= patch[0] or patch[3] <= patch[1]:
                continue
            if len(valid_boxes) and iou_matrix(patch, valid_boxes).min() < min_iou:
                continue
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2.0
            inside = ((centres[:, 0] > patch[0]) & (centres[:, 1] > patch[1])
                      & (centres[:, 0] < patch[2]) & (centres[:, 1] < patch[3]))
            if not inside[primary]:
                continue
            x1, y1, x2, y2 = (int(v) for v in patch)
            cropped = image[y1:y2, x1:x2]
            new_boxes = boxes.copy()
            new_boxes[:, 0::2] = np.clip(boxes[:, 0::2], x1, x2) - x1
            new_boxes[:, 1::2] = np.clip(boxes[:, 1::2], y1, y2) - y1
            return cropped, new_boxes, valid & inside
    return image, boxes, valid


def horizontal_flip(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right; in continuous coordinates x -> W - x, so x1' = W - x2, x2' = W - x1."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0] = width - boxes[:, 2]
    flipped[:, 2] = width - boxes[:, 0]
    return np.ascontiguousarray(image[:, ::-1]), flipped


def rescale_keep_ratio(image: np.ndarray, boxes: np.ndarray,
                       target_short_long: tuple[float, float],
                       max_hw: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Resize keeping the aspect so the short side <= target short and long side <= target long.

    This is mmdetection's keep-ratio `Resize` to img_scale=(long, short): both the released
    (1333, 800) mode and the paper's multi-scale mode (shorter side s, long side capped) use it.
    `max_hw` additionally fits the result inside a canvas (a portrait image in a landscape batch
    bucket). Boxes scale by the realised per-axis factors (after rounding to whole pixels).
    """
    height, width = image.shape[:2]
    target_short, target_long = target_short_long
    scale = min(target_short / min(height, width), target_long / max(height, width))
    limit_h, limit_w = (target_short, target_long) if height <= width else (target_long,
                                                                             target_short)
    if max_hw is not None:
        scale = min(scale, max_hw[0] / height, max_hw[1] / width)
        limit_h, limit_w = min(limit_h, max_hw[0]), min(limit_w, max_hw[1])
    # Clamp so rounding never passes the limit (e.g. 800.5 -> 801 in an 800 canvas).
    new_w = int(min(max(1, round(width * scale)), limit_w))
    new_h = int(min(max(1, round(height * scale)), limit_h))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    factors = np.array([new_w / width, new_h / height, new_w / width, new_h / height])
    return resized, boxes * factors


def normalize_and_pad(image: np.ndarray, canvas_hw: tuple[int, int]) -> np.ndarray:
    """(x - mean) / std, then zero-pad bottom/right into the (H, W) canvas (float32)."""
    height, width = image.shape[:2]
    canvas_h, canvas_w = canvas_hw
    if height > canvas_h or width > canvas_w:
        raise ValueError(f"image {height}x{width} does not fit the canvas {canvas_h}x{canvas_w}")
    out = np.zeros((canvas_h, canvas_w, 3), dtype=np.float32)
    out[:height, :width] = (image.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    return out


def denormalize(image: np.ndarray) -> np.ndarray:
    """Inverse of the normalisation (for tests and visualisation), float32 0..255 scale."""
    return image * PIXEL_STD + PIXEL_MEAN


# ----------------------------------------------------------------------------- canvas buckets


def round_up(value: float, multiple: int = CANVAS_MULTIPLE) -> int:
    return int(math.ceil(value / multiple) * multiple)


@dataclasses.dataclass(frozen=True)
class Bucket:
    """One canvas size: the keep-ratio target (short, long) and the padded (H, W) it lands in."""

    target_short: float
    target_long: float
    landscape: bool

    @property
    def canvas_hw(self) -> tuple[int, int]:
        short, long = round_up(self.target_short), round_up(self.target_long)
        return (short, long) if self.landscape else (long, short)


def canvas_buckets(scale_mode: str, fit_size: Sequence[float] = (1333, 800),
                   short_sides: Sequence[int] = tuple(range(256, 609, 32)),
                   long_ratio: float = 1333 / 800) -> list[Bucket]:
    """The fixed set of canvases a batch may use (so the jitted step compiles a bounded number
    of times): two orientations per scale.

    - ``"fit"`` (released recipe): rescale to fit (long, short) = `fit_size`, e.g. (1333, 800)
      -> canvases 800x1344 and 1344x800.
    - ``"multiscale"`` (paper): shorter side s in `short_sides`, long side capped at
      s * `long_ratio`, e.g. s = 608 -> 608x1024 and 1024x608.
    """
    if scale_mode == "fit":
        long, short = float(fit_size[0]), float(fit_size[1])
        if short > long:
            raise ValueError(f"fit_size must be (long, short), got {tuple(fit_size)}")
        sizes = [(short, long)]
    elif scale_mode == "multiscale":
        if not short_sides:
            raise ValueError("multiscale mode needs at least one short side")
        sizes = [(float(s), float(s) * float(long_ratio)) for s in short_sides]
    else:
        raise ValueError(f"unknown scale_mode {scale_mode!r}; expected 'fit' or 'multiscale'")
    return [Bucket(short, long, landscape) for short, long in sizes for landscape in (True, False)]


def choose_bucket(buckets: Sequence[Bucket], image_hw: tuple[int, int],
                  rng: np.random.Generator) -> Bucket:
    """A random scale, with the orientation of the image that decides it (the batch's first)."""
    landscape = image_hw[1] >= image_hw[0]
    candidates = [b for b in buckets if b.landscape == landscape]
    return candidates[int(rng.integers(len(candidates)))]


# ----------------------------------------------------------------------------- full chain


def augment_view(image: np.ndarray, boxes_xyxy: np.ndarray, valid: np.ndarray,
                 bucket: Bucket, rng: np.random.Generator, settings: AugmentSettings,
                 primary: int = 0, where: str = "image"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Augment one view; returns (normalised float32 canvas (H, W, 3), boxes (K, 4), valid (K,)).

    `primary` names the box the crop must keep (the SOT target). Invalid boxes come back as
    zeros. `where` names the source (file, frame) in errors about bad input boxes.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{where}: expected an (H, W, 3) image, got shape {image.shape}")
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
    valid = np.asarray(valid, dtype=bool).reshape(-1).copy()
    if not valid[primary]:
        raise ValueError(f"{where}: the primary box {primary} is not valid")
    check_boxes(boxes, valid, image.shape[:2], where)
    # Clip to the frame first: annotations that poke out by a pixel are common (LaSOT, MOT17).
    height, width = image.shape[:2]
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
    boxes[~valid] = 0.0
    positive = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    valid &= positive

    out = image.astype(np.float32)
    if settings.photometric:
        out = photometric_distortion(out, rng)
    if settings.expand and rng.uniform() < settings.expand_prob:
        out, boxes = random_expand(out, boxes, rng, settings.expand_ratio_range)
    if settings.ssd_crop:
        out, boxes, valid = ssd_random_crop(out, boxes, valid, rng, primary=primary)
    if rng.uniform() < settings.flip_prob:
        out, boxes = horizontal_flip(out, boxes)
    out, boxes = rescale_keep_ratio(out, boxes, (bucket.target_short, bucket.target_long),
                                    max_hw=bucket.canvas_hw)
    sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    valid &= sizes >= settings.min_box_size
    boxes[~valid] = 0.0
    return normalize_and_pad(out, bucket.canvas_hw), boxes, valid
