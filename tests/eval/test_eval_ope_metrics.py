"""OPE metrics against hand-worked sequences (LaSOT toolkit rules) and the TrackingNet rules."""

import math
import sys

import numpy as np
import pytest

from eval import ope_metrics, overlap

GT = [10.0, 10.0, 20.0, 20.0]


def _hand_sequence():
    """Six frames exercising every LaSOT-toolkit rule; expected values worked by hand:
    frame 1: wrong prediction replaced by gt -> IoU 1, error 0
    frame 2: shifted 10 px right -> IoU 200/600 = 1/3, error 10, normalised 10/20 = 0.5
    frame 3: NaN prediction -> takes frame 2's -> 1/3, 10, 0.5
    frame 4: present, gt x = 0 -> overlap -1 (failure), error -1 (success)
    frame 5: absent (occluded) although perfect -> overlap -1, error inf (failure)
    frame 6: negative width -> takes frame 5's perfect box -> IoU 1, error 0
    """
    gt = np.array([GT, GT, GT, [0, 10, 20, 20], GT, GT])
    pred = np.array([[0, 0, 5, 5], [20, 10, 20, 20], [np.nan] * 4, GT, GT, [10, 10, -5, 20]])
    present = np.array([1, 1, 1, 1, 0, 1], bool)
    return pred, gt, present


def test_lasot_errors_hand_worked():
    pred, gt, present = _hand_sequence()
    errors = ope_metrics.lasot_errors(pred, gt, present)
    np.testing.assert_allclose(errors.overlap, [1, 1 / 3, 1 / 3, -1, -1, 1])
    np.testing.assert_allclose(errors.centre_error, [0, 10, 10, -1, np.inf, 0])
    np.testing.assert_allclose(errors.norm_centre_error, [0, 0.5, 0.5, -1, np.inf, 0])


def test_lasot_scores_hand_worked_two_sequences():
    pred, gt, present = _hand_sequence()
    # second sequence: frame 2 shifted by exactly 20 px -> IoU 0 (fails even t = 0, strict)
    # but error 20 passes the 20 px threshold (non-strict)
    gt2 = np.array([GT, GT])
    pred2 = np.array([GT, [30, 10, 20, 20]])
    result = ope_metrics.evaluate_ope([pred, pred2], [gt, gt2], [present, None])
    # seq 1: IoU > t for 4/6 frames while t <= 0.30 (7 thresholds), 2/6 for 0.35..0.95
    # (13 thresholds), 0 at t = 1 (1 > 1 is false) -> 54/126 = 3/7.
    # seq 2: 1/2 for t < 1 (20 thresholds), 0 at 1 -> 10/21.
    assert result.success == pytest.approx((3 / 7 + 10 / 21) / 2, abs=1e-12)
    assert result.per_sequence["0"]["success"] == pytest.approx(3 / 7, abs=1e-12)
    # precision at 20 px: seq 1 5/6 (inf fails), seq 2 2/2 (error == 20 passes)
    assert result.precision == pytest.approx((5 / 6 + 1) / 2, abs=1e-12)
    # normalised at 0.20: seq 1 {0, -1, 0} -> 3/6; seq 2 error 20/20 = 1 -> 1/2
    assert result.norm_precision == pytest.approx((0.5 + 0.5) / 2, abs=1e-12)
    assert result.success_curve[0] == pytest.approx((4 / 6 + 1 / 2) / 2)
    assert result.success_curve[-1] == 0.0


def test_zero_size_gt_row_is_failure_for_overlap_success_for_precision():
    gt = np.array([GT, [10, 10, 0, 20]])
    pred = np.array([GT, GT])
    errors = ope_metrics.lasot_errors(pred, gt)
    assert errors.overlap[1] == -1 and errors.centre_error[1] == -1
    assert errors.norm_centre_error[1] == -1


def test_frame_one_rule_scores_gt_even_for_garbage():
    gt = np.array([GT])
    for garbage in ([np.nan] * 4, [-5, -5, -1, -1], [500, 500, 3, 3]):
        result = ope_metrics.evaluate_ope([np.array([garbage])], [gt])
        assert result.success == pytest.approx(20 / 21)  # IoU 1 > t except t = 1
        # eval_tracker.m divides by (len_all + eps): 1 / (1 + eps) for a one-frame sequence
        one = 1.0 / (1.0 + np.finfo(np.float64).eps)
        assert result.precision == one and result.norm_precision == one


def test_result_shorter_than_gt_is_a_clear_error():
    with pytest.raises(ValueError, match="seqA.*2 boxes.*3 frames"):
        ope_metrics.lasot_errors(np.zeros((2, 4)), np.ones((3, 4)), name="seqA")


def test_matlab_colon_matches_matlab_values():
    # MATLAB builds the second half of 0:0.05:1 down from 1, so (0:0.05:1)(18) == 0.85
    # exactly, while 17 * 0.05 == 0.8500000000000001.
    thresholds = ope_metrics.matlab_colon(0, 0.05, 1)
    assert len(thresholds) == 21 and thresholds[17] == 0.85 and 17 * 0.05 != 0.85
    assert thresholds[3] == 3 * 0.05 and thresholds[10] == 0.5 and thresholds[-1] == 1.0
    np.testing.assert_array_equal(ope_metrics.matlab_colon(0, 1, 50), np.arange(51.0))


def test_inclusive_iou_hand_worked():
    # pixels 1..4 and 3..6 in both axes: 2 x 2 of 16 + 16 - 4
    assert overlap.iou_inclusive_pixels([[1, 1, 4, 4]], [[3, 3, 4, 4]])[0] == pytest.approx(4 / 28)
    assert overlap.iou_inclusive_pixels([[0, 0, 2, 2]], [[2, 0, 2, 2]])[0] == 0.0


def test_trackingnet_rules_hand_worked():
    # rounding: 10.4 -> 10, 19.6 -> 20; the prediction becomes exactly the gt -> IoU 1
    gt = np.array([GT, GT, GT])
    pred = np.array([GT, [10.4, 9.6, 19.6, 20.4], [20, 10, 20, 20]])
    errors = ope_metrics.trackingnet_errors(pred, gt)
    np.testing.assert_allclose(errors.overlap, [1, 1, 1 / 3])
    np.testing.assert_allclose(errors.centre_error, [0, 0, 10])
    result = ope_metrics.evaluate_ope([pred], [gt], convention="trackingnet")
    # success uses IoU >= t: at t = 1 two frames of three pass (strict would give 0)
    assert result.success_curve[-1] == pytest.approx(2 / 3)
    x = np.linspace(0, 1, 21)
    curve = np.where(x <= 1 / 3, 1.0, 2 / 3)
    expected = float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(x)))
    assert result.success == pytest.approx(expected, abs=1e-12)
    # precision thresholds linspace(0, 50, 21): error 10 passes from 10 on (index 4)
    precision_curve = np.where(np.linspace(0, 50, 21) >= 10, 1.0, 2 / 3)
    assert result.precision == pytest.approx(
        float(np.sum((precision_curve[1:] + precision_curve[:-1]) / 2 * np.diff(x))))


def test_unknown_convention_is_rejected():
    with pytest.raises(ValueError, match="unknown OPE convention 'vot'"):
        ope_metrics.evaluate_ope([np.zeros((1, 4))], [np.ones((1, 4))], convention="vot")


# --- LaSOT toolkit operation order on exact ties (issue 16) --------------------------------

def _toolkit_norm_precision(pred_rows, gt_rows):
    """utils/calc_seq_err_robust.m + eval_tracker.m of HengLan/LaSOT_Evaluation_Toolkit with
    norm_dst = true, replayed in plain Python floats (MATLAB doubles) in the toolkit's order:
    frame 1 := gt; centre x + (w-1)/2; centre ./ gt w (both boxes) THEN the difference;
    sqrt(dx^2 + dy^2); threshold (0:50)/100 entry 21 = 20/100; count / (len + eps)."""
    passed = 0
    for i, (p, g) in enumerate(zip(pred_rows, gt_rows)):
        p = g if i == 0 else p
        cx, cy = p[0] + (p[2] - 1) / 2, p[1] + (p[3] - 1) / 2
        gx, gy = g[0] + (g[2] - 1) / 2, g[1] + (g[3] - 1) / 2
        dx, dy = cx / g[2] - gx / g[2], cy / g[3] - gy / g[3]
        if math.sqrt(dx * dx + dy * dy) <= 20 / 100:
            passed += 1
    return passed / (len(gt_rows) + sys.float_info.epsilon)


def _tie_case():
    """40 integer frames, w = h = 5, every prediction 1 px (= 0.20 w) to the right of the
    ground truth or on it. For the first 19 shifted frames c/w - c_gt/w rounds just above 0.2,
    for the next 8 just below; (c - c_gt)/w is exactly 0.2 for all 27."""
    above = [1, 5, 8, 10, 12, 13, 15, 17, 18, 19, 21, 22, 23, 24, 26, 27, 28, 29, 31]
    below = [0, 2, 3, 4, 6, 7, 9, 11]
    gt = [[50, 10, 5, 5]] + [[x, 10, 5, 5] for x in above + below] + [[40, 10, 5, 5]] * 12
    pred = [[0, 0, 1, 1]] + [[x + 1, 10, 5, 5] for x in above + below] + [[40, 10, 5, 5]] * 12
    return pred, gt


def test_lasot_norm_precision_ties_follow_the_toolkit_operation_order():
    pred, gt = _tie_case()
    assert len(gt) == 40
    # the case is a tie case: subtract-then-divide puts every frame within 0.20
    assert all(abs(((p[0] + 2) - (g[0] + 2)) / 5) <= 0.2 for p, g in zip(pred[1:], gt[1:]))
    expected = _toolkit_norm_precision(pred, gt)
    assert expected == pytest.approx(21 / 40, abs=1e-15)  # 0.525
    result = ope_metrics.evaluate_ope([np.array(pred, float)], [np.array(gt, float)])
    assert result.norm_precision == expected
    assert result.thresholds.norm_precision[20] == 20 / 100
    np.testing.assert_array_equal(result.thresholds.norm_precision,
                                  np.arange(51, dtype=np.float64) / 100)


def test_lasot_thresholds_are_the_toolkit_sets():
    th = ope_metrics.thresholds_for("lasot")
    np.testing.assert_array_equal(th.precision, np.arange(51, dtype=np.float64))  # 0:50
    assert len(th.success) == 21 and th.success[0] == 0 and th.success[-1] == 1
    assert th.precision[th.precision_index] == 20


def test_lasot_invalid_prediction_kept_where_gt_has_nan():
    # calc_seq_err_robust.m replaces an invalid row only where the gt row holds no NaN
    gt = np.array([[10, 10, 10, 10], [np.nan] * 4, [10, 10, 10, 10]], float)
    pred = np.array([[10, 10, 10, 10], [0, 0, 0, 0], [np.nan] * 4], float)
    errors = ope_metrics.lasot_errors(pred, gt)
    # frame 3 copies frame 2's row (0 size, kept), not frame 1's: IoU 0, not 1
    assert errors.overlap[2] == 0.0


def test_lasot_all_zero_sequence_is_left_out_of_the_mean():
    # plot_draw_save.m: aa = aa(sum(aa,2) > eps, :) before the mean over sequences
    gt = np.array([[10, 10, 10, 10]] * 2, float)
    good = ope_metrics.evaluate_ope([gt.copy()], [gt])
    both = ope_metrics.evaluate_ope([gt.copy(), gt.copy()], [gt, gt],
                                    presents=[None, np.array([False, False])])
    assert both.success == good.success and both.precision == good.precision


def test_got10k_norm_precision_is_the_curve_mean():
    # got10k/experiments/lasot.py report: normalized_precision_score = np.mean(norm_prec_curve)
    gt = np.array([[10, 10, 10, 10]] * 4, float)
    pred = gt + np.array([[0, 0, 0, 0], [1, 0, 0, 0], [3, 0, 0, 0], [10, 0, 0, 0]], float)
    result = ope_metrics.evaluate_ope([pred], [gt], convention="got10k")
    errors = np.array([0, 0.1, 0.3, 1.0])
    curve = (errors[:, None] <= np.linspace(0, 0.5, 51)[None]).mean(0)
    assert result.norm_precision == pytest.approx(float(curve.mean()), abs=1e-15)
