"""The jitted network side of online tracking.

Frames are resized keeping their aspect ratio to fit the inference size (the paper's 736x512)
and pasted into a FIXED canvas of that size rounded up to a multiple of 32, so every frame of
every video has one shape and the step compiles once per (canvas, batch size). Frame 1 builds
the kernels once (no template update); every later frame runs one call that returns up to 100
NMS'd candidates with scores and re-id embeddings, for B sequences at once.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from dmtrack_jax.ops.boxes import check_template_boxes
from dmtrack_jax.ops.postprocess import sample_embeddings, select_candidates

# ImageNet RGB statistics used by the released training pipeline.
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], np.float32)


def canvas_size(input_hw: Sequence[int], multiple: int = 32) -> tuple[int, int]:
    h, w = input_hw
    return int(-(-h // multiple) * multiple), int(-(-w // multiple) * multiple)


def preprocess_frame(frame_rgb: np.ndarray, input_hw: Sequence[int]):
    """uint8 RGB frame (H0, W0, 3) -> (normalised canvas (Hc, Wc, 3) float32, scale)."""
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB frame (H, W, 3), got shape {frame_rgb.shape}")
    h0, w0 = frame_rgb.shape[:2]
    max_h, max_w = input_hw
    scale = min(max_h / h0, max_w / w0)
    new_w = max(1, min(max_w, int(round(w0 * scale))))
    new_h = max(1, min(max_h, int(round(h0 * scale))))
    resized = cv2.resize(frame_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    ch, cw = canvas_size(input_hw)
    canvas = np.zeros((ch, cw, 3), np.float32)
    canvas[:new_h, :new_w] = (resized.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    # Exact per-axis scales (rounding makes them differ slightly from `scale`).
    return canvas, np.array([new_w / w0, new_h / h0, new_w / w0, new_h / h0])


@dataclasses.dataclass
class FrameCandidates:
    """Candidates of B frames, in canvas pixels: boxes (B, K, 4), scores/valid (B, K), emb (B, K, D)."""

    boxes: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    embeddings: np.ndarray


class NetworkStep:
    """Holds the model and its variables; `encode` once per sequence, `detect` per frame."""

    def __init__(self, model, variables, tracker_config):
        self.model = model
        self.variables = variables
        self.config = tracker_config
        self.strides = tuple(model.strides)
        self.has_reid = model.reid_dim > 0
        self._encode = jax.jit(self._encode_fn)
        self._detect = jax.jit(self._detect_fn)

    def _encode_fn(self, variables, canvases, boxes):
        if self.has_reid:
            kernels, embedding_map = self.model.apply(
                variables, canvases, boxes[:, None, :],
                method=self.model.encode_template_and_embed)
            embedding = jax.vmap(sample_embeddings)(embedding_map, boxes[:, None, :])[:, 0]
        else:
            kernels = self.model.apply(variables, canvases, boxes[:, None, :],
                                       method=self.model.encode_template)
            embedding = jnp.zeros((canvases.shape[0], 1), jnp.float32)
        return kernels, embedding

    def _detect_fn(self, variables, canvases, kernels):
        out = self.model.apply(variables, canvases, kernels, method=self.model.detect,
                               with_embeddings=self.has_reid)
        c = self.config

        def per_image(cls, reg, ctr):
            return select_candidates(cls, reg, ctr, self.strides, c.pre_nms_top_k,
                                     c.nms_iou_threshold, c.max_detections,
                                     c.candidate_min_score)

        first_target = lambda maps: tuple(m[:, 0] for m in maps)  # noqa: E731 (T = 1)
        boxes, scores, valid = jax.vmap(per_image)(
            first_target(out["cls"]), first_target(out["reg"]), first_target(out["ctr"]))
        if self.has_reid:
            embeddings = jax.vmap(sample_embeddings)(out["embeddings"], boxes)
        else:
            embeddings = jnp.zeros(boxes.shape[:2] + (1,), jnp.float32)
        return boxes, scores, valid, embeddings

    def encode(self, canvases: np.ndarray, boxes_xyxy: np.ndarray):
        """Frame 1 of B sequences -> (kernels, first-frame target embeddings).

        Args:
          canvases: (B, Hc, Wc, 3) float32, the first frames as `preprocess_frame` returns them
            (RGB, ImageNet mean/std normalised, resized into `config.input_size` and zero-padded
            to the canvas `canvas_size(config.input_size)`, multiples of 32).
          boxes_xyxy: (B, 4) the target of each sequence, one per sequence, in canvas pixels:
            x1, y1, x2, y2 continuous (x2 = x1 + w; a frame box times the scale that
            `preprocess_frame` returned). Must be 2-D.

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
        check_template_boxes(np.asarray(boxes_xyxy)[:, None, :], canvases.shape[1:3])
        kernels, embedding = self._encode(self.variables, jnp.asarray(canvases),
                                          jnp.asarray(boxes_xyxy, jnp.float32))
        return kernels, np.asarray(embedding)

    def detect(self, canvases: np.ndarray, kernels) -> FrameCandidates:
        """One later frame of each of the B sequences -> its candidates (paper sect. 3.5).

        The per-frame detection of the tracker: the kernels of frame 1 run on the whole frame
        (global search, no search window), and what comes back is a short list of candidates
        for the host-side association (`tracking/association.py`) to pick the target from.

        Args:
          canvases: (B, Hc, Wc, 3) float32 from `preprocess_frame` (see `encode`); B and the
            order of the sequences must be those `kernels` were encoded with.
          kernels: the first value returned by `encode` for these sequences.

        Returns:
          FrameCandidates with K = config.max_detections slots per frame (100 by default), as
          float64 / bool numpy arrays (the call waits for the device):
          boxes: (B, K, 4) x1, y1, x2, y2 continuous, in canvas pixels (divide by the scale
            of `preprocess_frame` for frame pixels); each is decoded from one location,
            x = j * s + s // 2 (paper eq. 1), as (x - l, y - t, x + r, y + b); not clipped to
            the canvas, so it may reach into the zero padding or beyond.
          scores: (B, K) sigmoid(target-class logit) * sigmoid(centerness logit), in [0, 1],
            descending over the valid slots; 0 in invalid slots.
          valid: (B, K) bool, True where the slot holds a kept candidate. Valid slots come
            first; a frame may have none. Invalid slots repeat an arbitrary box and embedding
            that mean nothing: read boxes/scores/embeddings only where valid.
          embeddings: (B, K, D) the L2-normalised stride-4 re-id map read at each box centre
            (nearest cell, clipped), D = model.reid_dim; zeros (B, K, 1) without a re-id head.

        Candidates follow the released tracker's test procedure (mmdet FCOS test settings):
        score every location of every FPN level, keep the top `config.pre_nms_top_k` (1000)
        per level (the whole level if smaller), pool the levels, drop scores below
        `config.candidate_min_score`, greedy NMS at IoU `config.nms_iou_threshold`, and keep
        at most `config.max_detections` (100) by score.

        Raises:
          ValueError: from JAX while tracing ("Inconsistent batch axis sizes") when B differs
            from the kernels' batch; there are no other input checks here. Each new
            (B, Hc, Wc) compiles the jitted step once.
        """
        boxes, scores, valid, embeddings = jax.device_get(
            self._detect(self.variables, jnp.asarray(canvases), kernels))
        return FrameCandidates(np.asarray(boxes, np.float64), np.asarray(scores, np.float64),
                               np.asarray(valid), np.asarray(embeddings, np.float64))
