"""Augmentation keeps boxes consistent with pixels; normalisation and buckets match hand values."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from data_pipelines import augment as aug

RNG_SEEDS = range(12)


def draw_boxes(height: int, width: int, boxes_xyxy) -> list[np.ndarray]:
    """One white-on-black uint8 RGB image per box (integer boxes, pixel columns x1..x2-1)."""
    images = []
    for x1, y1, x2, y2 in boxes_xyxy:
        image = np.zeros((height, width, 3), np.uint8)
        image[int(y1):int(y2), int(x1):int(x2)] = 255
        images.append(image)
    return images


def mask_bbox(image: np.ndarray, threshold: float) -> np.ndarray | None:
    """Bounding box (x1, y1, x2, y2) in continuous coordinates of pixels brighter than threshold."""
    mask = image.min(axis=2) > threshold
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


BOXES = np.array([[20, 30, 60, 70], [90, 10, 130, 50], [5, 80, 45, 115]], np.float64)


def test_expand_moves_boxes_with_pixels_exactly():
    images = draw_boxes(120, 150, BOXES)
    for seed in RNG_SEEDS:
        for k, image in enumerate(images):
            out, boxes = aug.random_expand(image.astype(np.float32), BOXES,
                                           np.random.default_rng(seed))
            assert out.shape[0] >= 120 and out.shape[1] >= 150
            # Fill is the mean colour (~123), the box is 255, the image background 0.
            np.testing.assert_array_equal(mask_bbox(out, 200), boxes[k])
            # Outside the pasted image the canvas is the mean colour.
            left, top = int(boxes[k, 0] - BOXES[k, 0]), int(boxes[k, 1] - BOXES[k, 1])
            outside = np.ones(out.shape[:2], bool)
            outside[top:top + 120, left:left + 150] = False
            np.testing.assert_allclose(out[outside], np.broadcast_to(aug.PIXEL_MEAN, (outside.sum(), 3)))
            np.testing.assert_array_equal(out[top:top + 120, left:left + 150], image)


def test_ssd_crop_keeps_primary_and_clips_exactly():
    images = draw_boxes(120, 150, BOXES)
    cropped = dropped = 0
    for seed in range(40):
        for k, image in enumerate(images):
            # With box k as the only valid one, the min-IoU constraint involves only it.
            only_k = np.arange(3) == k
            out, boxes, out_valid = aug.ssd_random_crop(image.astype(np.float32), BOXES, only_k,
                                                        np.random.default_rng(seed), primary=k)
            cropped += out.shape[:2] != (120, 150)
            assert out_valid[k], "the primary target must survive the crop"
            np.testing.assert_array_equal(mask_bbox(out, 200), boxes[k])
            assert out.shape[0] >= 0.3 * 120 - 1 and out.shape[1] >= 0.3 * 150 - 1
        # All three valid: the primary survives; a box whose centre left the patch is dropped.
        out, boxes, out_valid = aug.ssd_random_crop(np.zeros((120, 150, 3), np.float32), BOXES,
                                                    np.ones(3, bool), np.random.default_rng(seed))
        assert out_valid[0]
        dropped += int(not out_valid.all())
        for k in np.flatnonzero(out_valid):
            assert 0 <= boxes[k, 0] < boxes[k, 2] <= out.shape[1]
    assert cropped > 10, "too few crops: the test would not exercise the crop"


def test_flip_is_exact_and_involutive():
    images = draw_boxes(120, 150, BOXES)
    for k, image in enumerate(images):
        out, boxes = aug.horizontal_flip(image, BOXES)
        np.testing.assert_array_equal(mask_bbox(out, 200), boxes[k])
        # Hand value: box 0 (20..60) in a 150-wide image -> 90..130.
    np.testing.assert_array_equal(aug.horizontal_flip(images[0], BOXES)[1][0], [90, 30, 130, 70])
    back_image, back = aug.horizontal_flip(*aug.horizontal_flip(images[1], BOXES))
    np.testing.assert_array_equal(back, BOXES)
    np.testing.assert_array_equal(back_image, images[1])


def test_rescale_hand_case_and_pixels():
    # 300x500 to fit (1333, 800): scale = min(800/300, 1333/500) = 2.666 -> 800 x 1333.
    image = np.zeros((300, 500, 3), np.float32)
    out, boxes = aug.rescale_keep_ratio(image, np.array([[0, 0, 500, 300.0]]), (800, 1333))
    assert out.shape == (800, 1333, 3)
    np.testing.assert_allclose(boxes[0], [0, 0, 1333, 800])
    # Portrait 500x300 into the small tiny bucket (short 128, long 160): scale = min(128/300, 160/500).
    out, _ = aug.rescale_keep_ratio(np.zeros((500, 300, 3), np.float32), np.zeros((1, 4)), (128, 160))
    assert out.shape == (160, 96, 3)
    images = draw_boxes(120, 150, BOXES)
    for k, img in enumerate(images):
        out, boxes = aug.rescale_keep_ratio(img.astype(np.float32), BOXES, (256, 416))
        np.testing.assert_allclose(mask_bbox(out, 127.5), boxes[k], atol=1.0)


def test_full_chain_boxes_match_pixels():
    """Every augmentation step on: the mask of each drawn box matches its returned box."""
    settings = aug.AugmentSettings(photometric=False, expand_prob=0.7)
    buckets = aug.canvas_buckets("multiscale", short_sides=(128, 160), long_ratio=1.25)
    flips = expands = 0
    for seed in range(20):
        rng = np.random.default_rng(1000 + seed)
        bucket = aug.choose_bucket(buckets, (120, 150), rng)
        state = rng.bit_generator.state
        results = []
        for image in draw_boxes(120, 150, BOXES):
            # Same seed for each single-box image: the draws depend on boxes, not on pixels.
            rng.bit_generator.state = state
            results.append(aug.augment_view(image, BOXES, np.ones(3, bool), bucket, rng, settings))
        for k, (canvas, boxes, valid) in enumerate(results):
            assert canvas.shape == (*bucket.canvas_hw, 3) and canvas.dtype == np.float32
            np.testing.assert_array_equal(results[0][1], boxes)  # identical geometry per image
            assert valid[0]
            if valid[k]:
                np.testing.assert_allclose(mask_bbox(aug.denormalize(canvas), 127.5), boxes[k],
                                           atol=1.0)
            else:
                np.testing.assert_array_equal(boxes[k], 0.0)
        canvas0 = aug.denormalize(results[0][0])
        # Flip detection: the primary box centre moved to the right half.
        flips += int((results[0][1][0, 0] + results[0][1][0, 2]) / 2 > canvas0.shape[1] / 2)
        expands += int(np.abs(canvas0[..., 0] - aug.PIXEL_MEAN[0]).min() < 1.0)
    assert flips > 0 and expands > 0


def test_normalize_and_pad_against_float64():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (5, 7, 3)).astype(np.float32)
    out = aug.normalize_and_pad(image, (32, 64))
    mean = np.array([123.675, 116.28, 103.53])
    std = np.array([58.395, 57.12, 57.375])
    np.testing.assert_allclose(out[:5, :7], (image.astype(np.float64) - mean) / std, rtol=1e-5,
                               atol=1e-6)
    assert np.all(out[5:] == 0) and np.all(out[:, 7:] == 0)
    with pytest.raises(ValueError, match="does not fit"):
        aug.normalize_and_pad(np.zeros((40, 10, 3)), (32, 64))


def test_canvas_buckets_hand_values():
    fit = aug.canvas_buckets("fit", fit_size=(1333, 800))
    assert sorted(b.canvas_hw for b in fit) == [(800, 1344), (1344, 800)]
    multi = aug.canvas_buckets("multiscale")  # shorter side 256..608 step 32
    sizes = {b.canvas_hw for b in multi}
    assert len(sizes) == 24  # 12 short sides (256, 288, ..., 608) x 2 orientations
    assert (608, 1024) in sizes and (1024, 608) in sizes and (256, 448) in sizes
    assert all(h % 32 == 0 and w % 32 == 0 for h, w in sizes)
    with pytest.raises(ValueError, match="scale_mode"):
        aug.canvas_buckets("square")


def reference_photometric(image: np.ndarray, seed: int) -> np.ndarray:
    """float64 colorsys reference of the documented draw order."""
    rng = np.random.default_rng(seed)
    out = image.astype(np.float64)
    if rng.integers(2):
        out = out + rng.uniform(-32, 32)
    contrast_first = bool(rng.integers(2))

    def contrast(x):
        return x * rng.uniform(0.5, 1.5) if rng.integers(2) else x

    if contrast_first:
        out = contrast(out)
    sat_on = bool(rng.integers(2))
    sat = rng.uniform(0.5, 1.5) if sat_on else 1.0
    hue_on = bool(rng.integers(2))
    hue = rng.uniform(-18, 18) if hue_on else 0.0
    if sat_on or hue_on:
        flat = out.reshape(-1, 3)
        for i, (r, g, b) in enumerate(flat):
            scale = max(r, g, b)
            h, s, v = colorsys.rgb_to_hsv(r / scale, g / scale, b / scale)
            h = ((h * 360 + hue) % 360) / 360
            flat[i] = np.array(colorsys.hsv_to_rgb(h, s * sat, v)) * scale
        out = flat.reshape(out.shape)
    if not contrast_first:
        out = contrast(out)
    return out


def test_photometric_against_colorsys_reference():
    rng = np.random.default_rng(7)
    # Bright saturated colours keep every channel positive after a brightness shift.
    image = rng.uniform(60, 255, (4, 5, 3)).astype(np.float32)
    changed = 0
    for seed in range(16):
        got = aug.photometric_distortion(image, np.random.default_rng(seed))
        want = reference_photometric(image, seed)
        np.testing.assert_allclose(got, want, atol=0.05 * 255)
        np.testing.assert_allclose(got, want, rtol=2e-2, atol=1.0)
        changed += int(np.abs(got - image).max() > 1)
    assert changed >= 8


@pytest.mark.parametrize("bad, message", [
    ([[np.nan, 1, 10, 10]], "NaN"),
    ([[10, 10, 5, 20]], "zero or negative"),
    ([[-50, -50, -10, -10]], "entirely outside"),
])
def test_bad_boxes_raise_naming_source(bad, message):
    bucket = aug.canvas_buckets("fit", fit_size=(160, 128))[0]
    with pytest.raises(ValueError, match=message) as info:
        aug.augment_view(np.zeros((40, 50, 3), np.uint8), np.array(bad, float), [True], bucket,
                         np.random.default_rng(0), aug.AugmentSettings(), where="seq7 frame 3")
    assert "seq7 frame 3" in str(info.value)
