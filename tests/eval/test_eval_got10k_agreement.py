"""Agreement with the `got10k` package (pip `got10k==0.1.3`), calling its metric functions
directly (its experiment constructors download data)."""

import types

import numpy as np
import pytest

from eval import ope_metrics, overlap

got10k_metrics = pytest.importorskip(
    "got10k.utils.metrics", reason="the got10k package (test extra) is not installed")
got10k_otb = pytest.importorskip("got10k.experiments.otb")


def _random_boxes(rng, n):
    xy = rng.uniform(-20, 120, size=(n, 2))
    wh = rng.uniform(0.5, 60, size=(n, 2))
    return np.concatenate([xy, wh], axis=1)


def test_continuous_iou_and_centres_agree():
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 500), _random_boxes(rng, 500)
    b[:100] = a[:100] + rng.normal(0, 3, size=(100, 4))  # many overlapping pairs
    np.testing.assert_allclose(overlap.iou_continuous(a, b),
                               got10k_metrics.rect_iou(a.copy(), b.copy()), atol=1e-12)
    np.testing.assert_allclose(
        overlap.iou_continuous(a, b, (100, 80)),
        got10k_metrics.rect_iou(a.copy(), b.copy(), bound=(100, 80)), atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.norm(overlap.centres_minus_one(a) - overlap.centres_minus_one(b), axis=1),
        got10k_metrics.center_error(a, b), atol=1e-12)


def test_got10k_convention_agrees_with_experiment_otb_curves():
    rng = np.random.default_rng(1)
    fake_experiment = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    preds, gts, expected_succ, expected_prec = [], [], [], []
    for length in (7, 12, 30):
        gt = _random_boxes(rng, length)
        pred = gt + rng.normal(0, 8, size=gt.shape)
        preds.append(pred)
        gts.append(gt)
        boxes = pred.copy()
        boxes[0] = gt[0]  # what ExperimentOTB.report does
        ious = got10k_metrics.rect_iou(boxes.copy(), gt.copy())
        errors = got10k_metrics.center_error(boxes, gt)
        succ, prec = got10k_otb.ExperimentOTB._calc_curves(fake_experiment, ious, errors)
        expected_succ.append(succ)
        expected_prec.append(prec)
    result = ope_metrics.evaluate_ope(preds, gts, convention="got10k")
    np.testing.assert_allclose(result.success_curve, np.mean(expected_succ, 0), atol=1e-12)
    np.testing.assert_allclose(result.precision_curve, np.mean(expected_prec, 0), atol=1e-12)
    assert result.success == pytest.approx(np.mean(np.mean(expected_succ, 0)), abs=1e-12)
    assert result.precision == pytest.approx(np.mean(expected_prec, 0)[20], abs=1e-12)
