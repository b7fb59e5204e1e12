"""The jitted network side of online tracking.

Frames are resized keeping their aspect ratio (`resize_frame`: the released tracker's
long/short-side rule by default) and zero-padded at the bottom and right to the next multiple
of 32 (`config.tracker.canvas = 'pad'`, issue 17 fact 5), so every frame size has its own
canvas: the step compiles once per (batch size, canvas) and a video, which has one frame size,
compiles once. `canvas = 'fixed'` keeps the older rule (every frame pasted into one canvas).
Frame 1 builds the kernels once (no template update); every later frame runs one call that
returns up to 100 NMS'd candidates with scores and re-id embeddings, for B sequences at once.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from dmtrack_jax.models import with_winograd_kernels
from dmtrack_jax.ops.boxes import check_template_boxes
from dmtrack_jax.ops.postprocess import sample_embeddings, select_candidates

log = logging.getLogger(__name__)

# ImageNet RGB statistics used by the released training pipeline.
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], np.float32)


def canvas_size(input_hw: Sequence[int], multiple: int = 32) -> tuple[int, int]:
    """(H, W) rounded up to multiples of `multiple`: (414, 736) -> (416, 736)."""
    h, w = input_hw
    return int(-(-h // multiple) * multiple), int(-(-w // multiple) * multiple)


def resize_frame_size(frame_hw: Sequence[int], input_size: Sequence[int],
                      rule: str = "long_short") -> tuple[int, int, np.ndarray]:
    """The size a frame is resized to and the factors that map frame pixels to it.

    Args:
      frame_hw: (h, w) of the original frame, pixels.
      input_size: for 'long_short' the two sides (short, long) in either order (the paper's
        (512, 736)); for 'fit' the (H, W) bounds.
      rule: 'long_short' (the released tracker, issue 17 fact 3, mmcv's keep-ratio rescale):
        one scalar s = min(long / max(h, w), short / min(h, w)) in float64, output
        int(w * s + 0.5) x int(h * s + 0.5) (round half up), upscaling allowed, so a portrait
        frame gets the same long side as a landscape one; boxes are multiplied by s on both
        axes. 'fit' (before issue 17): s = min(H / h, W / w), Python's round(), clipped to
        the bounds, per-axis factors new_w / w and new_h / h.

    Returns:
      (new_h, new_w, scales) with scales (4,) float64 = (sx, sy, sx, sy), the factors of
      x1, y1, x2, y2 (for 'long_short' all four equal s).

    Raises ValueError (one line) for an empty frame or an unknown rule.
    """
    h0, w0 = (int(v) for v in frame_hw)
    if h0 < 1 or w0 < 1:
        raise ValueError(f"cannot resize an empty {w0}x{h0} frame")
    if rule == "long_short":
        long_side, short_side = max(input_size), min(input_size)
        scale = min(long_side / max(h0, w0), short_side / min(h0, w0))
        new_w, new_h = int(w0 * scale + 0.5), int(h0 * scale + 0.5)
        return new_h, new_w, np.full(4, scale, np.float64)
    if rule == "fit":
        max_h, max_w = input_size
        scale = min(max_h / h0, max_w / w0)
        new_w = max(1, min(max_w, int(round(w0 * scale))))
        new_h = max(1, min(max_h, int(round(h0 * scale))))
        return new_h, new_w, np.array([new_w / w0, new_h / h0, new_w / w0, new_h / h0])
    raise ValueError(f"unknown resize rule {rule!r}; expected 'long_short' or 'fit'")


def preprocess_frame(frame_rgb: np.ndarray, input_size: Sequence[int], *,
                     resize_rule: str = "long_short", canvas: str = "pad",
                     multiple: int = 32):
    """uint8 RGB frame (H0, W0, 3) -> (canvas (Hc, Wc, 3) float32, scales (4,), (h, w)).

    The released tracker's input (issue 17 facts 2-5): the uint8 frame is resized with
    `cv2.resize(..., INTER_LINEAR)` to (h, w) by `resize_frame_size(..., resize_rule)`, THEN
    normalised in float32 RGB as (x - PIXEL_MEAN) / PIXEL_STD, then zero-padded (zeros after
    normalisation) at the bottom and right. `canvas='pad'`: to (h, w) rounded up to
    `multiple` (1280x720 -> 736x414 -> 736x416, W x H); `canvas='fixed'`: to
    `canvas_size(input_size, multiple)` whatever the frame (needs `resize_rule='fit'`).

    Returns the canvas, the scales (4,) float64 (sx, sy, sx, sy) from frame pixels to canvas
    pixels, and (h, w) the resized, unpadded size in canvas pixels.

    Raises ValueError (one line) for a frame that is not (H, W, 3), or, with a fixed canvas,
    a resized frame that does not fit in it.
    """
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame_rgb.shape}")
    new_h, new_w, scales = resize_frame_size(frame_rgb.shape[:2], input_size, resize_rule)
    if canvas == "pad":
        ch, cw = canvas_size((new_h, new_w), multiple)
    elif canvas == "fixed":
        ch, cw = canvas_size(input_size, multiple)
        if new_h > ch or new_w > cw:
            raise ValueError(f"a {new_w}x{new_h} resized frame does not fit the fixed "
                             f"{cw}x{ch} canvas (use canvas='pad' or resize_rule='fit')")
    else:
        raise ValueError(f"unknown canvas rule {canvas!r}; expected 'pad' or 'fixed'")
    resized = cv2.resize(frame_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((ch, cw, 3), np.float32)
    out[:new_h, :new_w] = (resized.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    return out, scales, (new_h, new_w)


def clip_template_boxes(boxes_xyxy: np.ndarray, canvas_hw: Sequence[int]) -> np.ndarray:
    """(B, 4) x1, y1, x2, y2 canvas pixels clipped to [0, Wc - 1] x [0, Hc - 1] (issue 17
    fact 6, the released tracker's template box on the padded canvas). x2 >= x1 and
    y2 >= y1 are kept; a box wholly outside collapses onto the border (zero size, refused
    by `NetworkStep.encode`)."""
    boxes = np.array(boxes_xyxy, np.float64, copy=True)
    hc, wc = canvas_hw
    boxes[..., 0::2] = np.clip(boxes[..., 0::2], 0.0, wc - 1.0)
    boxes[..., 1::2] = np.clip(boxes[..., 1::2], 0.0, hc - 1.0)
    return boxes


@dataclasses.dataclass
class FrameCandidates:
    """Candidates of B frames, in canvas pixels: boxes (B, K, 4), scores/valid (B, K), emb (B, K, D)
    (`detect`); `detect_targets` adds a target axis: (B, T, K, 4), (B, T, K), (B, T, K, D)."""

    boxes: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    embeddings: np.ndarray


class NetworkStep:
    """Holds the model and its variables; `encode` once per sequence, `detect` per frame."""

    def __init__(self, model, variables, tracker_config):
        self.model = model
        self._given_variables = variables
        self._variables = None
        self.config = tracker_config
        self.strides = tuple(model.strides)
        self.has_reid = model.reid_dim > 0
        self._encode = jax.jit(self._encode_fn)
        self._detect = jax.jit(self._detect_fn)
        self._compiled: set[tuple[str, int, int, int]] = set()

    @property
    def variables(self):
        """The model's variables as the jitted steps take them: the given ones plus, computed
        on first use, each Winograd conv's kernel transform (`with_winograd_kernels`: the
        weights are fixed, so not once per frame). Variables that do not fit the model raise
        flax's error here, at the first `encode`."""
        if self._variables is None:
            self._variables = with_winograd_kernels(self.model, self._given_variables)
        return self._variables

    @property
    def compiled_sizes(self) -> list[tuple[str, int, int, int]]:
        """(step, B, Hc, Wc) of every shape compiled so far, step 'encode' or 'detect', sorted;
        (step, B, Hc, Wc, T) for T != 1 targets per image. jax.jit keeps one executable per
        shape: a new frame size (or batch size, or target count) compiles once, later frames
        of that size reuse it."""
        return sorted(self._compiled, key=lambda k: (k[0], k[1:]))

    def _note_shape(self, step: str, canvases, targets: int = 1) -> None:
        key = (step, int(canvases.shape[0]), int(canvases.shape[1]), int(canvases.shape[2]))
        if targets != 1:  # K-target shapes are listed with their T; one target keeps 4 fields
            key = key + (int(targets),)
        if key not in self._compiled:
            self._compiled.add(key)
            log.info("compiling the tracker's %s step for %d canvas(es) of %dx%d (W x H)%s; "
                     "later frames of this size reuse it", step, key[1], key[3], key[2],
                     f" with {targets} targets each" if targets != 1 else "")

    def _encode_fn(self, variables, canvases, boxes):
        """boxes (B, T, 4) -> kernels {name: (B, T, L, ...)}, embeddings (B, T, D)."""
        if self.has_reid:
            kernels, embedding_map = self.model.apply(
                variables, canvases, boxes, method=self.model.encode_template_and_embed)
            embedding = jax.vmap(sample_embeddings)(embedding_map, boxes)
        else:
            kernels = self.model.apply(variables, canvases, boxes,
                                       method=self.model.encode_template)
            embedding = jnp.zeros(boxes.shape[:2] + (1,), jnp.float32)
        return kernels, embedding

    def _detect_fn(self, variables, canvases, kernels, image_hw):
        """ONE backbone + FPN (+ re-id map) pass per image, the T per-target heads vmapped
        (the model's head is vmapped over targets), then per (image, target) top-k, decode and
        NMS, all in one jitted call -> boxes (B, T, N, 4), scores/valid (B, T, N),
        embeddings (B, T, N, D)."""
        out = self.model.apply(variables, canvases, kernels, method=self.model.detect,
                               with_embeddings=self.has_reid)
        c = self.config
        clip = bool(c.get("clip_candidates", False))

        def per_image(cls, reg, ctr, hw):
            return select_candidates(
                cls, reg, ctr, self.strides, c.pre_nms_top_k, c.nms_iou_threshold,
                c.max_detections, c.candidate_min_score,
                threshold_on=c.get("candidate_threshold_on", "score"),
                classes=c.get("candidate_classes", "target"),
                clip_hw=hw if clip else None)

        # Over images, then over the targets of an image (the image's size is shared).
        per_target = jax.vmap(per_image, in_axes=(0, 0, 0, None))
        boxes, scores, valid = jax.vmap(per_target)(out["cls"], out["reg"], out["ctr"], image_hw)
        if self.has_reid:
            b, t, n = boxes.shape[:3]
            embeddings = jax.vmap(sample_embeddings)(out["embeddings"],
                                                     boxes.reshape(b, t * n, 4))
            embeddings = embeddings.reshape(b, t, n, -1)
        else:
            embeddings = jnp.zeros(boxes.shape[:3] + (1,), jnp.float32)
        return boxes, scores, valid, embeddings

    def encode(self, canvases: np.ndarray, boxes_xyxy: np.ndarray):
        """Frame 1 of B sequences -> (kernels, first-frame target embeddings).

        Args:
          canvases: (B, Hc, Wc, 3) float32, the first frames as `preprocess_frame` returns them
            (RGB, ImageNet mean/std normalised after resizing, zero-padded to multiples of
            32); all B of one canvas size.
          boxes_xyxy: (B, 4) the target of each sequence, one per sequence, or (B, T, 4), T
            targets per sequence (kernels (B, T, L, ...), embeddings (B, T, D)), in canvas pixels:
            x1, y1, x2, y2 (a frame box, in the tracker's `box_convention`, times the scales
            `preprocess_frame` returned, clipped by `clip_template_boxes` when
            `clip_template_box`). RoIAlign (7x7, sampling 2, aligned) reads it on
            the level floor(log2(sqrt(area) / 56 + 1e-6)) clamped to 0..2 (fact 7).

        Returns:
          kernels: the dynamic-convolution kernels, a dict {name: jax.Array (B, 1, L, ...)}
            (one target per sequence, L FPN levels), left on the device for `detect`. Built
            ONCE per sequence and never updated (DMTrack tracks with the frame-1 template).
          embeddings: (B, D) float32 numpy, the L2-normalised stride-4 re-id map of frame 1
            read at each box centre (nearest cell, clipped to the map); D = model.reid_dim.
            A model without a re-id head (reid_dim 0, the released DMTrack-GS) gives zeros
            (B, 1).

        Raises:
          ValueError: from `check_template_boxes`, naming the first bad box: a NaN or infinite
            coordinate, zero or negative width or height, or a box entirely outside the
            (Hc, Wc) canvas. The check runs on the host, before the jitted call.

        Each new (B, Hc, Wc) compiles the jitted encoder once; later calls reuse it.
        """
        boxes_xyxy = np.asarray(boxes_xyxy)
        per_target = boxes_xyxy.ndim == 3
        boxes = boxes_xyxy if per_target else boxes_xyxy[:, None, :]
        if boxes.ndim != 3 or boxes.shape[2] != 4 or boxes.shape[0] != canvases.shape[0]:
            raise ValueError(f"expected boxes (B, 4) or (B, T, 4) for B = {canvases.shape[0]} "
                             f"canvases, got {boxes_xyxy.shape}")
        check_template_boxes(boxes, canvases.shape[1:3])
        self._note_shape("encode", canvases, boxes.shape[1])
        kernels, embedding = self._encode(self.variables, jnp.asarray(canvases),
                                          jnp.asarray(boxes, jnp.float32))
        embedding = np.asarray(embedding)
        return kernels, (embedding if per_target else embedding[:, 0])

    def detect(self, canvases: np.ndarray, kernels, image_hw=None) -> FrameCandidates:
        """One later frame of each of the B sequences -> its candidates (paper sect. 3.5).

        The per-frame detection of the tracker: the kernels of frame 1 run on the whole frame
        (global search, no search window), and what comes back is a short list of candidates
        for the host-side association (`tracking/association.py`) to pick the target from.

        Args:
          canvases: (B, Hc, Wc, 3) float32 from `preprocess_frame` (see `encode`); B and the
            order of the sequences must be those `kernels` were encoded with.
          kernels: the first value returned by `encode` for these sequences.
          image_hw: (B, 2) the resized, unpadded (h, w) of each frame in canvas pixels (the
            third value of `preprocess_frame`); decoded boxes are clamped to [0, w] x [0, h]
            when `config.clip_candidates` (fact 9). Default: the canvas size.

        Returns:
          FrameCandidates with K = config.max_detections slots per frame (100 by default), as
          float64 / bool numpy arrays (the call waits for the device):
          boxes: (B, K, 4) x1, y1, x2, y2, in canvas pixels (divide by the scales of
            `preprocess_frame` for frame pixels); each is decoded from one location,
            x = j * s + s // 2 (paper eq. 1), as (x - l, y - t, x + r, y + b); clamped to
            [0, w] x [0, h] of `image_hw` with `config.clip_candidates`, otherwise it may
            reach into the zero padding or beyond.
          scores: (B, K) sigmoid(target-class logit) * sigmoid(centerness logit), in [0, 1],
            descending over the valid slots; 0 in invalid slots.
          valid: (B, K) bool, True where the slot holds a kept candidate. Valid slots come
            first; a frame may have none. Invalid slots repeat an arbitrary box and embedding
            that mean nothing: read boxes/scores/embeddings only where valid.
          embeddings: (B, K, D) the L2-normalised stride-4 re-id map read at each box centre
            (nearest cell, clipped), D = model.reid_dim; zeros (B, K, 1) without a re-id head.

        Candidates follow the released tracker's test procedure (mmdet FCOS test settings,
        issue 17 facts 9-10) as `ops.postprocess.select_candidates` with the config's
        `pre_nms_top_k`, `nms_iou_threshold`, `max_detections`, `candidate_min_score`,
        `candidate_threshold_on`, `candidate_classes` and `clip_candidates`: only the
        target class (channel 1) is returned.

        Raises:
          ValueError: from JAX while tracing ("Inconsistent batch axis sizes") when B differs
            from the kernels' batch; one line when the kernels hold T != 1 targets per image
            (use `detect_targets`); there are no other input checks here. Each new
            (B, Hc, Wc) compiles the jitted step once (logged at INFO, listed in
            `compiled_sizes`).
        """
        canvases = np.asarray(canvases)
        if image_hw is None:
            image_hw = np.broadcast_to(np.asarray(canvases.shape[1:3], np.float32),
                                       (canvases.shape[0], 2))
        image_hw = np.asarray(image_hw, np.float32).reshape(canvases.shape[0], 2)
        found = self.detect_targets(canvases, kernels, image_hw)
        if found.boxes.shape[1] != 1:
            raise ValueError(f"these kernels hold {found.boxes.shape[1]} targets per image; "
                             "use detect_targets")
        return FrameCandidates(found.boxes[:, 0], found.scores[:, 0], found.valid[:, 0],
                               found.embeddings[:, 0])

    def detect_targets(self, canvases: np.ndarray, kernels, image_hw=None) -> FrameCandidates:
        """`detect` for T targets per image (kernels from `encode` with (B, T, 4) boxes).

        One jitted call: the backbone, FPN and re-id map run ONCE per image and the T
        per-target dynamic heads are vmapped over the shared features; each (image, target)
        gets its own top-k, decode and NMS inside the call (see `detect` for the rules).

        Returns FrameCandidates with an extra target axis: boxes (B, T, N, 4) x1, y1, x2, y2
        canvas pixels, scores / valid (B, T, N), embeddings (B, T, N, D) (the one shared
        re-id map read at each target's candidates), float64 / bool numpy, N =
        config.max_detections. Target t of image b equals what a one-target `detect` with
        that target's kernels gives (up to float rounding). Each new (B, T, Hc, Wc) compiles
        once.
        """
        canvases = np.asarray(canvases)
        if image_hw is None:
            image_hw = np.broadcast_to(np.asarray(canvases.shape[1:3], np.float32),
                                       (canvases.shape[0], 2))
        image_hw = np.asarray(image_hw, np.float32).reshape(canvases.shape[0], 2)
        targets = int(jax.tree_util.tree_leaves(kernels)[0].shape[1])
        self._note_shape("detect", canvases, targets)
        boxes, scores, valid, embeddings = jax.device_get(
            self._detect(self.variables, jnp.asarray(canvases), kernels, jnp.asarray(image_hw)))
        return FrameCandidates(np.asarray(boxes, np.float64), np.asarray(scores, np.float64),
                               np.asarray(valid), np.asarray(embeddings, np.float64))
