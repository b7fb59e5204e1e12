"""OPE metrics against hand-worked sequences (LaSOT toolkit rules) and the TrackingNet rules."""

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
        assert result.precision == 1.0 and result.norm_precision == 1.0


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
