"""Cost matrices and the thresholded assignment against hand values and brute force."""

from __future__ import annotations

import itertools

import numpy as np

from dmtrack_jax.tracking.matching import (cosine_distance, fuse_motion, iou_matrix,
                                           linear_assignment)


def test_iou_by_hand():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]], float)  # second box is empty
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    iou = iou_matrix(a, b)
    # 5x5 overlap of two 10x10 boxes: 25 / (100 + 100 - 25).
    np.testing.assert_allclose(iou, [[25 / 175, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_cosine_distance_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 0.0]])  # a zero row (no appearance) gives distance 1
    b = np.array([[3.0, 4.0], [-2.0, 0.0]])
    np.testing.assert_allclose(cosine_distance(a, b), [[1 - 0.6, 2.0], [1.0, 1.0]])


def test_fuse_motion_gates_and_mixes():
    appearance = np.array([[0.1, 0.2]])
    gating = np.array([[2.0, 10.0]])
    fused = fuse_motion(appearance, gating, 9.4877, 0.98)
    np.testing.assert_allclose(fused[0, 0], 0.98 * 0.1 + 0.02 * 2.0)
    assert np.isinf(fused[0, 1])


def brute_force(cost, threshold):
    """Best partial matching: minimise the sum of (cost - threshold) over matched pairs."""
    rows, cols = cost.shape
    best, best_pairs = 0.0, ()
    for k in range(1, min(rows, cols) + 1):
        for r in itertools.combinations(range(rows), k):
            for c in itertools.permutations(range(cols), k):
                pairs = tuple(zip(r, c))
                if any(cost[i, j] > threshold for i, j in pairs):
                    continue
                value = sum(cost[i, j] - threshold for i, j in pairs)
                if value < best - 1e-12:
                    best, best_pairs = value, pairs
    return set(best_pairs)


def test_linear_assignment_equals_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(40):
        rows, cols = rng.integers(1, 5, size=2)
        cost = rng.uniform(0, 1, size=(rows, cols))
        cost[rng.uniform(size=cost.shape) < 0.2] = np.inf
        matches, unmatched_rows, unmatched_cols = linear_assignment(cost, 0.5)
        assert set(map(tuple, matches.tolist())) == brute_force(cost, 0.5), trial
        assert sorted(unmatched_rows.tolist() + matches[:, 0].tolist()) == list(range(rows))
        assert sorted(unmatched_cols.tolist() + matches[:, 1].tolist()) == list(range(cols))


def test_one_confident_match_beats_two_marginal_ones():
    # Pairs (0,1) and (1,0) at 0.35 each would both be admissible at threshold 0.4, but
    # (0,0) at 0.0 alone is better: 0.0 - 0.4 < 2 * (0.35 - 0.4).
    cost = np.array([[0.0, 0.35], [0.35, np.inf]])
    matches, unmatched_rows, unmatched_cols = linear_assignment(cost, 0.4)
    assert matches.tolist() == [[0, 0]]
    assert unmatched_rows.tolist() == [1] and unmatched_cols.tolist() == [1]


def test_empty_cost():
    matches, r, c = linear_assignment(np.zeros((0, 3)), 0.5)
    assert matches.shape == (0, 2) and r.size == 0 and c.tolist() == [0, 1, 2]
