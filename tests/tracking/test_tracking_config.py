"""The tracker config carries the published defaults and takes command-line overrides."""

from __future__ import annotations

import ml_collections
import pytest
from scipy.stats import chi2

from dmtrack_jax.config_utils import apply_overrides
from dmtrack_jax.tracking.association import TargetAssociator
from dmtrack_jax.tracking.config import default_tracker_config


def test_defaults_are_the_published_numbers():
    c = default_tracker_config()
    # The motion gate is the 0.95 quantile of chi-square with 4 degrees of freedom.
    assert c.motion_gate_threshold == pytest.approx(chi2.ppf(0.95, 4), abs=1e-4)
    assert (c.kalman_std_weight_position, c.kalman_std_weight_velocity) == (1 / 20, 1 / 160)
    assert (c.embedding_momentum, c.appearance_weight) == (0.9, 0.98)
    assert (c.embedding_match_threshold, c.iou_match_threshold,
            c.unconfirmed_match_threshold) == (0.4, 0.5, 0.7)
    assert (c.selection_mode, c.position_top_k) == ("reid", 5)
    assert tuple(c.input_size) == (512, 736)
    assert (c.pre_nms_top_k, c.nms_iou_threshold, c.max_detections,
            c.candidate_min_score) == (1000, 0.6, 100, 0.05)


def test_overrides_as_the_cli_applies_them():
    config = ml_collections.ConfigDict({"tracker": default_tracker_config()})
    apply_overrides(config, ["--config.tracker.selection_mode=top1",
                             "--config.tracker.lost_buffer=60",
                             "--config.tracker.absent_confidence=0.3"])
    assert (config.tracker.selection_mode, config.tracker.lost_buffer,
            config.tracker.absent_confidence) == ("top1", 60, 0.3)
    with pytest.raises(ValueError, match="lost_buffer expects int"):
        apply_overrides(config, ["--config.tracker.lost_buffer=abc"])


@pytest.mark.parametrize("field, value, message", [
    ("selection_mode", "best", "selection_mode='best'"),
    ("position_top_k", 0, "position_top_k=0"),
    ("embedding_momentum", 1.5, "embedding_momentum=1.5"),
    ("lost_buffer", -1, "lost_buffer=-1"),
])
def test_bad_values_are_named(field, value, message):
    config = default_tracker_config()
    config[field] = value
    with pytest.raises(ValueError, match=message):
        TargetAssociator(config)
