"""Pair/identity sampling: box filters, frame gap, mixing, multi-target pairs, identity labels."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipelines import augment as aug
from data_pipelines.sampling import BoxFilter, FrameSource, PairSampler
from data_pipelines.sequence import Sequence

NO_AUGMENT = aug.AugmentSettings(photometric=False, expand=False, ssd_crop=False, flip_prob=0.0)
TINY_BUCKETS = aug.canvas_buckets("fit", fit_size=(160, 128))
SMALL_FILTER = BoxFilter(min_area=16, min_size=4, max_size=960, min_relative=0.01,
                         max_relative=0.75, min_aspect=0.2, max_aspect=5)


def render(height, width, boxes_xywh):
    """White filled boxes on black (NaN rows skipped)."""
    image = np.zeros((height, width, 3), np.uint8)
    for x, y, w, h in boxes_xywh:
        if np.isfinite([x, y, w, h]).all():
            image[int(y):int(y + h), int(x):int(x + w)] = 255
    return image


def make_source(name, sequences, height=96, width=128, pair_mode="video"):
    """In-memory source whose frames show every finite object box as a white rectangle."""
    frames = []
    for seq in sequences:
        objects = [seq.boxes] + list((seq.tracks or {}).values())
        frames.append([render(height, width, [o[t] for o in objects]) for t in range(len(seq))])
    return FrameSource(name, sequences, pair_mode, lambda s, t: frames[s][t])


def moving_sequence(name, n=40, absent_every=0, nan_rows=(), tracks=None):
    t = np.arange(n, dtype=np.float64)
    boxes = np.stack([10 + t, 20 + t // 2, 30 + 0 * t, 24 + 0 * t], axis=1)  # whole pixels
    absent = np.zeros(n, bool)
    if absent_every:
        absent[::absent_every] = True
    boxes[list(nan_rows)] = np.nan
    return Sequence(name, "synthetic", [f"{name}/{i:04d}.jpg" for i in range(n)], boxes, ~absent,
                    tracks=tracks, ids_are_identities=tracks is not None)


def make_sampler(sources, weights=None, reid_weights=None, settings=NO_AUGMENT, **kwargs):
    options = dict(seed=3, batch_size=2, max_targets=4, reid_batch_size=2, reid_max_objects=4,
                   max_frame_gap=5, box_filter=SMALL_FILTER, settings=settings,
                   buckets=TINY_BUCKETS)
    options.update(kwargs)
    return PairSampler(sources, weights or [1.0] * len(sources), reid_weights, **options)


def test_box_filter_hand_cases():
    released = BoxFilter()  # area > 20, 10 <= w,h <= 960, w/W,h/H in [0.01, 0.75], w/h in [0.2, 5)
    absolute = np.array([
        [0, 0, 10, 10],    # kept: smallest allowed side
        [0, 0, 9, 50],     # w < 10
        [0, 0, 960, 300],  # kept: w = 960 is allowed
        [0, 0, 961, 300],  # w > 960
        [0, 0, 50, 10],    # aspect exactly 5 -> excluded ([0.2, 5))
        [0, 0, 10, 50],    # aspect exactly 0.2 -> kept
        [np.nan, 0, 20, 20],
    ])
    # Without a frame size the relative test is deferred (applied once the frame is loaded).
    np.testing.assert_array_equal(released.keep(absolute, None),
                                  [True, False, True, False, False, True, False])
    # w/W = 10/1280 = 0.0078 < 0.01: the same smallest box fails in a 1280-wide frame.
    np.testing.assert_array_equal(released.keep(absolute[:1], (1000, 1280)), [False])
    loose = BoxFilter(min_area=20, min_size=1, max_size=960, min_relative=0.01,
                      max_relative=0.75, min_aspect=0.2, max_aspect=5)
    # area 20 (not > 20), area 21
    np.testing.assert_array_equal(loose.keep([[0, 0, 4, 5], [0, 0, 3, 7]], None), [False, True])
    np.testing.assert_array_equal(
        loose.keep([[0, 0, 9, 20], [0, 0, 10, 20], [0, 0, 750, 200], [0, 0, 751, 200],
                    [0, 0, 200, 751]], (1000, 1000)),
        # w/W 0.009, w/W 0.01, w/W 0.75, w/W 0.751, h/H 0.751
        [False, True, True, False, False])


def test_pairs_respect_gap_and_skip_unusable_frames(caplog):
    seq = moving_sequence("a", n=40, absent_every=4, nan_rows=(5, 6))
    seq.ground_truth[9] = [10, 10, -3, 20]  # negative width: not usable
    with caplog.at_level("INFO", logger="data_pipelines.sampling"):
        sampler = make_sampler([make_source("s", [seq])], max_frame_gap=5)
    assert "source s: skipped" in caplog.text and "object_boxes_nan_or_not_positive" in caplog.text
    rng = np.random.default_rng(0)
    gaps, used = [], set()
    for _ in range(300):
        template, search = sampler.draw_pair(rng)
        gaps.append(abs(search.frame_index - template.frame_index))
        used.update({template.frame_index, search.frame_index})
        for view in (template, search):
            want = seq.boxes[view.frame_index]
            np.testing.assert_array_equal(view.boxes[0], [want[0], want[1], want[0] + want[2],
                                                          want[1] + want[3]])
    assert max(gaps) <= 5 and min(gaps) >= 1  # distinct frames whenever possible
    bad = set(range(0, 40, 4)) | {5, 6, 9}
    assert not used & bad
    assert used == set(range(40)) - bad
    counts = dict(sampler.skip_counts)
    # 10 absent rows and 2 NaN rows are unusable without a filter test; the negative one fails it.
    assert counts["s/object_boxes_nan_or_not_positive"] == 13


def test_mixing_weights_match_frequencies():
    sources = [make_source("a", [moving_sequence("a")]), make_source("b", [moving_sequence("b")])]
    sampler = make_sampler(sources, weights=[3.0, 1.0])
    rng = np.random.default_rng(1)
    draws = 1200
    from_a = sum(sampler.draw_pair(rng)[0].source_index == 0 for _ in range(draws))
    # Binomial(1200, 0.75): mean 900, sd 15; a 5-sigma band.
    assert abs(from_a - 900) < 75


def test_multi_target_pairs_follow_tracks():
    n = 30
    t = np.arange(n, dtype=np.float64)[:, None]
    target = np.hstack([5 + t, 10 + 0 * t, 20 + 0 * t, 20 + 0 * t])
    other = np.hstack([60 + 0 * t, 50 + 0.5 * t, 20 + 0 * t, 16 + 0 * t])
    other[10:20] = np.nan  # absent for a while
    third = np.hstack([90 + 0 * t, 5 + 0 * t, 16 + 0 * t, 30 + 0 * t])
    tracks = {11: target.copy(), 12: other, 13: third}
    seq = Sequence("m", "synthetic", [f"m/{i}" for i in range(n)], target, np.ones(n, bool),
                   tracks=tracks, ids_are_identities=True)
    sampler = make_sampler([make_source("m", [seq])], max_frame_gap=8)
    rng = np.random.default_rng(2)
    for _ in range(100):
        template, search = sampler.draw_pair(rng)
        assert template.ids[0] == 11  # the target's own track keeps its identity, listed first
        np.testing.assert_array_equal(template.ids, search.ids)
        expected = {11} | {k for k in (12, 13)
                           if np.isfinite(tracks[k][[template.frame_index, search.frame_index]]).all()}
        assert set(template.ids.tolist()) == expected
        for view in (template, search):
            for k, track_id in enumerate(view.ids):
                x, y, w, h = tracks[int(track_id)][view.frame_index]
                np.testing.assert_array_equal(view.boxes[k], [x, y, x + w, y + h])


def test_sot_batch_pixels_match_boxes_and_is_deterministic():
    settings = aug.AugmentSettings(photometric=False, expand_prob=0.5)
    source = make_source("s", [moving_sequence("a"), moving_sequence("b", n=25)])
    sampler = make_sampler([source], settings=settings, batch_size=3)
    for index in range(6):
        batch = sampler.sot_batch(index)
        assert batch["template_image"].shape in {(3, 128, 160, 3), (3, 160, 128, 3)}
        assert batch["search_image"].shape == batch["template_image"].shape
        assert batch["template_boxes"].shape == (3, 4, 4)
        assert batch["box_valid"].dtype == bool and batch["box_valid"][:, 0].all()
        assert not batch["box_valid"][:, 1:].any()  # single-object sequences: padding only
        np.testing.assert_array_equal(batch["search_boxes"][:, 1:], 0.0)
        for b in range(3):
            for image_key, box_key in (("template_image", "template_boxes"),
                                       ("search_image", "search_boxes")):
                pixels = aug.denormalize(batch[image_key][b]).min(axis=2) > 127.5
                ys, xs = np.nonzero(pixels)
                mask_box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                np.testing.assert_allclose(batch[box_key][b, 0], mask_box, atol=1.0)
    again = sampler.sot_batch(4)
    for key, value in sampler.sot_batch(4).items():
        np.testing.assert_array_equal(value, again[key])
    assert not np.array_equal(sampler.sot_batch(5)["search_boxes"], again["search_boxes"])


def test_image_mode_uses_the_same_frame_twice():
    seq = Sequence("img", "coco", ["img.jpg"], np.full((1, 4), np.nan), np.zeros(1, bool),
                   tracks={101: np.array([[10.0, 10, 30, 20]]), 102: np.array([[60.0, 40, 20, 30]])})
    sampler = make_sampler([make_source("coco", [seq], pair_mode="image")])
    rng = np.random.default_rng(0)
    primaries = set()
    for _ in range(40):
        template, search = sampler.draw_pair(rng)
        assert template.frame_index == search.frame_index == 0
        primaries.add(int(template.ids[0]))
        assert sorted(template.ids.tolist()) == [101, 102]
    assert primaries == {101, 102}  # no SOT target: every object takes a turn as the primary


def test_identity_labels_are_contiguous_per_sequence_and_track():
    static = lambda x, y, w, h, n=10: np.tile([x, y, w, h], (n, 1)).astype(np.float64)  # noqa: E731
    seq_a = Sequence("A", "mot17", [f"A/{i}" for i in range(10)], np.full((10, 4), np.nan),
                     np.zeros(10, bool), tracks={7: static(10, 10, 20, 40), 9: static(60, 20, 30, 30)},
                     ids_are_identities=True)
    seq_b = Sequence("B", "mot17", [f"B/{i}" for i in range(10)], np.full((10, 4), np.nan),
                     np.zeros(10, bool), tracks={7: static(5, 5, 40, 20), 3: static(80, 40, 16, 32)},
                     ids_are_identities=True)
    source = make_source("mot17", [seq_a, seq_b])
    sampler = make_sampler([source], reid_weights=[1.0], reid_max_objects=3)
    assert sampler.num_identities == 4
    # Sorted by sequence, then track id: (A,7)->0, (A,9)->1, (B,3)->2, (B,7)->3.
    expected = {0: static(10, 10, 20, 40)[0], 1: static(60, 20, 30, 30)[0],
                2: static(80, 40, 16, 32)[0], 3: static(5, 5, 40, 20)[0]}
    scale = 160 / 128  # NO_AUGMENT: only the keep-ratio rescale of a 96x128 frame into 128x160
    seen = set()
    for index in range(6):
        batch = sampler.reid_batch(index)
        assert batch["image"].shape == (2, 128, 160, 3) and batch["ids"].dtype == np.int32
        for b in range(2):
            valid = batch["box_valid"][b]
            assert valid.sum() == 2 and (batch["ids"][b][~valid] == -1).all()
            for label, box in zip(batch["ids"][b][valid], batch["boxes"][b][valid]):
                x, y, w, h = expected[int(label)]
                np.testing.assert_allclose(box, np.array([x, y, x + w, y + h]) * scale, rtol=1e-6)
                seen.add(int(label))
    assert seen == {0, 1, 2, 3}


def test_bad_sources_raise_clear_errors():
    with pytest.raises(ValueError, match="no data sources"):
        make_sampler([])
    with pytest.raises(ValueError, match="'empty' is empty"):
        make_sampler([FrameSource("empty", [])])
    all_nan = moving_sequence("n", n=5, nan_rows=range(5))
    with pytest.raises(ValueError, match="'nanonly'.*usable frame"):
        make_sampler([make_source("nanonly", [all_nan])])
    with pytest.raises(ValueError, match=">= 0"):
        make_sampler([make_source("s", [moving_sequence("a")])], weights=[-1.0])
    no_ids = make_source("coco", [moving_sequence("a")])
    with pytest.raises(ValueError, match="no identity labels"):
        make_sampler([no_ids], reid_weights=[1.0])
    missing = FrameSource("disk", [moving_sequence("gone")])  # reads frame_paths from disk
    with pytest.raises(FileNotFoundError, match="gone/00"):
        make_sampler([missing]).sot_batch(0)
