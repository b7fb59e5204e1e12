"""The released tracker, frame for frame (issue 17): the PyTorch reference model of the released
architecture driven by the authors' pre- and post-processing, written out below in numpy/torch
from the issue's facts 1-11, against our `Tracker` with the converted weights and the GS
config's tracker settings, on one short synthetic sequence resized to a landscape 640x360, a
portrait 360x640 and an odd 500x333 frame size (W x H).

Narrow widths (configs/tiny.py's, without the re-id head, with the controllers' padding quirk):
the pipeline around the network does not depend on the widths, and the full-width parity of
the network itself is tests/convert/test_convert_official_parity.py's. Tamed random weights
(torch_reference.randomize_).

Measured when written (2-core CPU), max |coordinate difference| on tracked frames 2, 3, 4:
640x360 0.0007 / 0.0007 / 0.0022 px; 360x640 0.00002 / 0.00002 / 0.0004 px; 500x333 0.0019 /
0.0036 / 0.0039 px (float32 noise of the network); the issue asks for 0.5 px. Many of the
random network's best boxes have zero width (ReLU'd distances of 0), which the released
tracker returns as they are (fact 11), so that path is exercised too.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional [torch] extra of "
                                            "dmtrack-jax (pip install -e .[torch])")

from configs import dmtrack_gs_official, tiny  # noqa: E402
from dmtrack_jax.convert import convert_state_dict  # noqa: E402
from dmtrack_jax.tracking.tracker import Tracker  # noqa: E402

FRAME_SIZES = [(640, 360), (360, 640), (500, 333)]  # W x H, as the issue names them
NUM_FRAMES = 4  # frame 1 initialises, frames 2-4 are tracked
TOLERANCE_PX = 0.5
LOGIT_GAIN = 0.05

# --------------------------------------------------------------------------------------------
# The authors' pipeline, from the facts of issue 17 (not from our tracker's code).
MEAN = np.array([123.675, 116.28, 103.53], np.float32)  # fact 4, RGB
STD = np.array([58.395, 57.12, 57.375], np.float32)


def released_input(frame_rgb, input_size=(512, 736)):
    """Facts 2-5: -> (padded NCHW float32 tensor, scalar s, (out_h, out_w)). input_size:
    the (short, long) sides (the released 512, 736; other values for small benchmarks)."""
    h, w = frame_rgb.shape[:2]
    s = min(max(input_size) / max(h, w), min(input_size) / min(h, w))
    out_w, out_h = int(w * s + 0.5), int(h * s + 0.5)
    image = cv2.resize(frame_rgb, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    image = (image.astype(np.float32) - MEAN) / STD
    pad_h, pad_w = 32 * math.ceil(out_h / 32), 32 * math.ceil(out_w / 32)
    padded = np.zeros((pad_h, pad_w, 3), np.float32)
    padded[:out_h, :out_w] = image
    return torch.from_numpy(padded.transpose(2, 0, 1).copy())[None], s, (out_h, out_w)


def released_template_box(box_xywh, s, pad_hw):
    """Facts 1 and 6: pixel-inclusive x2 = x + w - 1 in float32, times s, clipped to the
    padded image [0, W_pad - 1] x [0, H_pad - 1]."""
    x, y, w, h = np.asarray(box_xywh, np.float32)
    box = np.array([x, y, x + w - 1, y + h - 1], np.float32) * np.float32(s)
    box[0::2] = np.clip(box[0::2], 0, pad_hw[1] - 1)
    box[1::2] = np.clip(box[1::2], 0, pad_hw[0] - 1)
    return box


def nms_numpy(boxes, scores, threshold):
    """Greedy NMS, IoU without the +1 pixel term, suppressed when IoU > threshold."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2])
                     - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3])
                     - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (area[i] + area[rest] - inter)
        order = rest[~(iou > threshold)]  # NaN (two empty boxes) does not suppress
    return np.asarray(keep, np.int64)


def released_box(head, s, out_hw, strides=(8, 16, 32)):
    """Facts 8-11 on the reference's head outputs of one frame -> x1, y1, x2, y2 (original
    pixels) of the best class-1 candidate."""
    target = [d for d in released_detections(head, s, out_hw, strides) if d[1] == 1]
    return target[int(np.argmax([d[0] for d in target]))][2]


def released_detections(head, s, out_hw, strides=(8, 16, 32)):
    """Facts 8-10: the released post-processing of one frame's head outputs -> at most 100
    (score, label, box x1, y1, x2, y2 in original pixels), best first, both classes."""
    out_h, out_w = out_hw
    boxes, cls_scores, ctr_scores = [], [], []
    for level, stride in enumerate(strides):
        cls = torch.sigmoid(head["cls"][level][0, 0]).permute(1, 2, 0).reshape(-1, 2)
        ctr = torch.sigmoid(head["ctr"][level][0, 0]).reshape(-1)
        reg = head["reg"][level][0, 0].permute(1, 2, 0).reshape(-1, 4)
        height, width = head["cls"][level].shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(height) * stride + stride // 2,
                                torch.arange(width) * stride + stride // 2, indexing="ij")
        px, py = xs.reshape(-1).float(), ys.reshape(-1).float()
        if cls.shape[0] > 1000:
            top = (cls * ctr[:, None]).max(dim=1).values.topk(1000).indices
            cls, ctr, reg, px, py = cls[top], ctr[top], reg[top], px[top], py[top]
        decoded = torch.stack([(px - reg[:, 0]).clamp(0, out_w), (py - reg[:, 1]).clamp(0, out_h),
                               (px + reg[:, 2]).clamp(0, out_w), (py + reg[:, 3]).clamp(0, out_h)],
                              dim=1)
        boxes.append(decoded / s)
        cls_scores.append(cls)
        ctr_scores.append(ctr)
    boxes = torch.cat(boxes).numpy()
    cls = torch.cat(cls_scores).numpy()
    ctr = torch.cat(ctr_scores).numpy()
    detections = []  # (score, label, box)
    for label in range(2):
        candidate = cls[:, label] > 0.0
        scores = cls[candidate, label] * ctr[candidate]
        kept = nms_numpy(boxes[candidate], scores, 0.5)
        detections += [(scores[k], label, boxes[candidate][k]) for k in kept]
    detections.sort(key=lambda d: -d[0])
    return detections[:100]


def run_released(reference, frames, box_xywh):
    with torch.no_grad():
        image, s, _ = released_input(frames[0])
        template = released_template_box(box_xywh, s, image.shape[-2:])
        kernels = reference.encode_template(image, [[template.tolist()]])
        out = []
        for frame in frames[1:]:
            image, s, out_hw = released_input(frame)
            out.append(released_box(reference.detect(image, kernels), s, out_hw))
    return np.asarray(out, np.float64)


# --------------------------------------------------------------------------------------------


def synthetic_sequence(size_wh, count=NUM_FRAMES, seed=0):
    """A smooth random background with three textured boxes moving, drawn at 960x720 and
    resized to `size_wh`; -> (frames uint8 RGB, first box x, y, w, h in the resized frame)."""
    rng = np.random.default_rng(seed)
    base_h, base_w = 720, 960
    background = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (base_w, base_h),
                            interpolation=cv2.INTER_CUBIC)
    patches = [rng.integers(0, 255, (90 + 30 * k, 120 - 20 * k, 3), dtype=np.uint8)
               for k in range(3)]
    frames, first_box = [], None
    for t in range(count):
        frame = background.copy()
        for k, patch in enumerate(patches):
            y, x = 150 + 140 * k + 9 * t, 200 + 210 * k + 13 * t
            frame[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
            if t == 0 and k == 0:
                first_box = np.array([x, y, patch.shape[1], patch.shape[0]], np.float64)
        frames.append(cv2.resize(frame, size_wh, interpolation=cv2.INTER_AREA))
    sx, sy = size_wh[0] / base_w, size_wh[1] / base_h
    return frames, np.round(first_box * [sx, sy, sx, sy], 1)


@pytest.fixture(scope="module")
def models(torch_ref, parity_case):
    config = tiny.get_config()
    config.model.reid_dim = 0  # the released model has no re-id head
    config.model.controller_padding_quirk = True
    config.tracker = dmtrack_gs_official.get_config().tracker  # the released tracker
    reference = parity_case.reference_for(torch_ref, config.model, seed=5, image_hw=(128, 128))
    with torch.no_grad():
        # Tamed further for the scores: randomize_'s head gives logits up to ~90, where
        # sigmoid(cls) * sigmoid(ctr) is exactly 1.0 in float32 at thousands of locations and
        # the best box is a tie. Scaled, the logits stay within a few units (scores distinct).
        head = reference.bbox_head
        for layer in (head.fcos_cls, head.fcos_centerness):
            layer.weight.mul_(LOGIT_GAIN)
    variables, _ = convert_state_dict(torch_ref.numpy_state_dict(reference), config)
    return reference, Tracker.from_config(config, variables)


@pytest.mark.parametrize("size_wh", FRAME_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_boxes_equal_the_released_trackers_on_every_frame(models, size_wh):
    reference, tracker = models
    frames, box = synthetic_sequence(size_wh)
    expected = run_released(reference, frames, box)
    tracker.initialize(frames[0], box)
    ours = []
    for frame in frames[1:]:
        x, y, w, h = tracker.track(frame).box
        ours.append([x, y, x + w - 1, y + h - 1])  # pixel-inclusive, as the released writes
    difference = np.abs(np.asarray(ours) - expected).max(axis=1)
    print(f"{size_wh[0]}x{size_wh[1]}: max |box difference| per frame {difference}")
    assert np.all(difference <= TOLERANCE_PX), (size_wh, difference, ours, expected.tolist())
    # Not vacuous: a different box on every frame (nothing held), inside the frame.
    assert len({tuple(np.round(b, 2)) for b in expected}) == len(expected)
    assert np.all(expected >= 0) and np.all(expected[:, 0::2] <= size_wh[0])
