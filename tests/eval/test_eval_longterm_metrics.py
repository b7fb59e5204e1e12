"""GOT-10k AO/SR, OxUvA TPR/TNR/MaxGM and VOT-LT Pr/Re/F on hand-worked examples."""

import math

import numpy as np
import pytest

from eval import got10k_metrics, oxuva_metrics, votlt_metrics


def test_got10k_ao_sr_hand_worked():
    # image 100 x 100; frame 1 is never scored; frame 3 of seq A has cover 0.
    gt_a = np.array([[0, 0, 10, 10], [90, 0, 10, 10], [0, 0, 10, 10]], float)
    pred_a = np.array([[50, 50, 5, 5], [90, 0, 20, 10], [50, 50, 5, 5]], float)  # clipped -> IoU 1
    gt_b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 10]], float)
    pred_b = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4])  # 50 / 150; NaN -> 0
    ious_a = got10k_metrics.sequence_ious([pred_a], gt_a, [1, 1, 0], (100, 100))
    ious_b = got10k_metrics.sequence_ious([pred_b], gt_b, [1, 1, 1], (100, 100))
    np.testing.assert_allclose(np.concatenate([ious_a, ious_b]), [1, 1 / 3, 0], atol=1e-12)
    summary = got10k_metrics.summarise([ious_a, ious_b])
    assert summary["ao"] == pytest.approx(4 / 9, abs=1e-12)
    assert summary["sr50"] == pytest.approx(1 / 3) and summary["sr75"] == pytest.approx(1 / 3)


def test_got10k_repetitions_are_pooled():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    runs = [gt.copy(), np.array([[0, 0, 10, 10], [5, 0, 10, 10]], float)]
    ious = got10k_metrics.sequence_ious(runs, gt, [1, 1], (100, 100))
    np.testing.assert_allclose(ious, [1, 1 / 3])


def test_oxuva_counts_hand_worked():
    box = [0.1, 0.3, 0.1, 0.3]
    far = [0.6, 0.8, 0.6, 0.8]
    # track A, scored frames 30, 60, 90, 120: TP, FN (IoU 0), FP, TN
    a = oxuva_metrics.count_track([1, 1, 0, 0], [box, box, box, box],
                                  [1, 1, 1, 0], [box, far, box, box])
    # track B: present but predicted absent (FN, even with a perfect box), absent+absent TN
    b = oxuva_metrics.count_track([1, 0], [box, box], [0, 0], [box, box])
    total = a + b
    assert (total.tp, total.fn, total.fp, total.tn) == (1, 2, 1, 2)
    summary = oxuva_metrics.summarise(total)
    assert summary["tpr"] == pytest.approx(1 / 3) and summary["tnr"] == pytest.approx(2 / 3)
    # (1-p)/3 * (2(1-p)/3 + p) = (1-p)(2+p)/9 is decreasing on [0, 1]: best at p = 0
    assert summary["max_gm"] == pytest.approx(math.sqrt(2 / 9))


def test_oxuva_iou_threshold_is_inclusive_and_boxes_clipped():
    gt = [0.0, 0.5, 0.0, 1.0]
    half = [0.0, 0.25, 0.0, 1.0]  # IoU exactly 0.5 -> TP
    outside = [-1.0, 0.5, 0.0, 1.0]  # clipped to the gt -> IoU 1
    counts = oxuva_metrics.count_track([1, 1], [gt, gt], [1, 1], [half, outside])
    assert counts.tp == 2


def test_max_gm_worked_example_and_brute_force():
    # TPR 0.8, TNR 0.2: 0.8 (1-p)(0.2 + 0.8 p) peaks at p = 0.375 with 0.25 -> MaxGM 0.5
    assert oxuva_metrics.max_geometric_mean(0.8, 0.2) == pytest.approx(0.5, abs=1e-12)
    p = np.linspace(0, 1, 200001)
    for tpr, tnr in [(0.8, 0.2), (0.3, 0.9), (0.6, 0.0), (0.0, 0.7), (1.0, 1.0)]:
        brute = np.sqrt(((1 - p) * tpr) * ((1 - p) * tnr + p)).max()
        assert oxuva_metrics.max_geometric_mean(tpr, tnr) == pytest.approx(brute, abs=1e-9)


def test_votlt_thresholds_follow_the_toolkit_sampling():
    # n = 99 scores: d = floor(99/98) = 1, indices round(linspace(1, 98, 98)) = 1..98, i.e.
    # every score but the largest; then +inf first and -inf last.
    thresholds = votlt_metrics.determine_thresholds([np.arange(99.0)])
    np.testing.assert_array_equal(thresholds, [np.inf, *np.arange(97.0, -1, -1), -np.inf])
    small = votlt_metrics.determine_thresholds([[0.2, np.nan, 0.9], [0.5]])
    np.testing.assert_array_equal(small, [np.inf, 0.9, 0.5, 0.2, -np.inf])


def test_votlt_f_score_worked_example():
    gt = [0.0, 0.0, 10.0, 10.0]
    half, miss = [0.0, 0.0, 10.0, 5.0], [20.0, 20.0, 10.0, 10.0]
    nan = [np.nan] * 4
    # A: frames 2 (IoU .5, conf .9), 3 (absent, conf .2), 4 (IoU 1, conf .6); 3 present
    pred_a = np.array([gt, half, gt, gt])
    gt_a = np.array([gt, gt, nan, gt])
    conf_a = [np.nan, 0.9, 0.2, 0.6]
    # B: frames 2 (IoU 0, conf .8), 3 (IoU .5, conf .4); 3 present
    pred_b = np.array([gt, miss, half])
    gt_b = np.array([gt, gt, gt])
    conf_b = [np.nan, 0.8, 0.4]
    result = votlt_metrics.evaluate_longterm([pred_a, pred_b], [conf_a, conf_b], [gt_a, gt_b])
    np.testing.assert_array_equal(result["thresholds"],
                                  [np.inf, 0.9, 0.8, 0.6, 0.4, 0.2, -np.inf])
    np.testing.assert_allclose(result["precision_curve"],
                               [1, 0.75, 0.25, 0.375, 0.5, 0.375, 0.375])
    np.testing.assert_allclose(result["recall_curve"],
                               [0, 1 / 12, 1 / 12, 0.25, 1 / 3, 1 / 3, 1 / 3])
    assert result["f_score"] == pytest.approx(0.4)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1 / 3)
    assert result["threshold"] == 0.4


def test_votlt_first_frame_confidence_is_ignored():
    gt = np.array([[0, 0, 10, 10]] * 2, float)
    # even a confidence written for frame 1 is not a threshold and not in any subset
    result = votlt_metrics.evaluate_longterm([gt], [[5.0, 0.5]], [gt])
    np.testing.assert_array_equal(result["thresholds"], [np.inf, 0.5, -np.inf])
    assert result["recall"] == pytest.approx(0.5)  # 1 overlap / 2 present frames
