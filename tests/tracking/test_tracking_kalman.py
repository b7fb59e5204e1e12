"""The batched Kalman filter against a float64 hand computation with the matrices written out."""

from __future__ import annotations

import numpy as np

from dmtrack_jax.tracking.kalman import KalmanFilter, xyah_to_xyxy, xyxy_to_xyah

W_POS, W_VEL = 1.0 / 20, 1.0 / 160

# x' = x + v for cx, cy, a, h (one frame per step), written out row by row.
F = np.array([
    [1, 0, 0, 0, 1, 0, 0, 0],
    [0, 1, 0, 0, 0, 1, 0, 0],
    [0, 0, 1, 0, 0, 0, 1, 0],
    [0, 0, 0, 1, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0, 1],
], dtype=np.float64)
H = np.array([
    [1, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0, 0],
], dtype=np.float64)


def hand_initiate(z):
    h = z[3]
    std = [2 * W_POS * h, 2 * W_POS * h, 1e-2, 2 * W_POS * h,
           10 * W_VEL * h, 10 * W_VEL * h, 1e-5, 10 * W_VEL * h]
    return np.concatenate([z, np.zeros(4)]), np.diag(np.square(std))


def hand_predict(x, P):
    h = x[3]
    Q = np.diag(np.square([W_POS * h, W_POS * h, 1e-2, W_POS * h,
                           W_VEL * h, W_VEL * h, 1e-5, W_VEL * h]))
    return F @ x, F @ P @ F.T + Q


def hand_update(x, P, z):
    h = x[3]
    R = np.diag(np.square([W_POS * h, W_POS * h, 1e-1, W_POS * h]))
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    return x + K @ (z - H @ x), (np.eye(8) - K @ H) @ P, S


def test_box_conversions_by_hand():
    np.testing.assert_allclose(xyxy_to_xyah([[10, 20, 50, 100]]), [[30, 60, 0.5, 80]])
    np.testing.assert_allclose(xyah_to_xyxy([[30, 60, 0.5, 80]]), [[10, 20, 50, 100]])


def test_initiate_predict_update_gating_equal_hand_computation():
    kf = KalmanFilter(W_POS, W_VEL)
    z0 = np.array([[100.0, 50.0, 0.5, 80.0], [20.0, 30.0, 1.5, 10.0]])
    mean, cov = kf.initiate(z0)
    full = KalmanFilter.full_covariance
    for t in range(2):
        x, P = hand_initiate(z0[t])
        np.testing.assert_allclose(mean[t], x, rtol=1e-12)
        np.testing.assert_allclose(full(cov)[t], P, rtol=1e-12)

    # Give the tracklets a velocity, then run predict -> update -> predict.
    mean[:, 4:] = [[3.0, -2.0, 0.01, 1.0], [-1.0, 0.5, 0.0, -0.2]]
    z1 = np.array([[104.0, 47.5, 0.52, 82.0], [18.5, 31.0, 1.45, 9.5]])
    m1, c1 = kf.predict(mean, cov)
    m2, c2 = kf.update(m1, c1, z1)
    m3, c3 = kf.predict(m2, c2)
    probes = np.array([[106.0, 44.0, 0.5, 84.0], [17.0, 32.0, 1.4, 9.0], [60.0, 40.0, 1.0, 40.0]])
    gating = kf.gating_distance(m3, c3, probes)
    for t in range(2):
        x, P = mean[t], full(cov)[t]
        x1, P1 = hand_predict(x, P)
        np.testing.assert_allclose(m1[t], x1, rtol=1e-12)
        np.testing.assert_allclose(full(c1)[t], P1, rtol=1e-12, atol=1e-15)
        x2, P2, _ = hand_update(x1, P1, z1[t])
        np.testing.assert_allclose(m2[t], x2, rtol=1e-10)
        np.testing.assert_allclose(full(c2)[t], P2, rtol=1e-8, atol=1e-12)
        x3, P3 = hand_predict(x2, P2)
        _, _, S = hand_update(x3, P3, probes[0])
        for n in range(3):
            d = probes[n] - H @ x3
            np.testing.assert_allclose(gating[t, n], d @ np.linalg.inv(S) @ d, rtol=1e-8)
    # One hand-evaluated number: frame-1 state, one predict, then the Mahalanobis distance of a
    # 2-pixel shift in x. P(cx) after predict = (2*80/20)^2 + (10*80/160)^2 + (80/20)^2
    # = 64 + 25 + 16 = 105; S(cx) = 105 + (80/20)^2 = 121; d^2 = 4 / 121.
    m, c = kf.predict(*kf.initiate(z0[:1]))
    d2 = kf.gating_distance(m, c, z0[:1] + [2.0, 0, 0, 0])
    np.testing.assert_allclose(d2, [[4.0 / 121.0]], rtol=1e-12)


def test_empty_inputs():
    kf = KalmanFilter()
    mean, cov = kf.initiate(np.zeros((0, 4)))
    assert mean.shape == (0, 8) and KalmanFilter.full_covariance(cov).shape == (0, 8, 8)
    assert kf.gating_distance(mean, cov, np.ones((3, 4))).shape == (0, 3)
