"""Default online-tracking configuration (nested by the model configs as `config.tracker`).

Every threshold of the network step and of the association is a field here, so the ablation
rows of the paper's Table 1 and any tuning are command-line overrides, e.g.

    dmtrack track video.mp4 --box 10,20,50,80 --checkpoint ckpt --out r.txt \
        --config.tracker.selection_mode=top1

The association numbers follow FairMOT's published defaults (DESIGN.md section 5).
"""

from __future__ import annotations

import ml_collections

SELECTION_MODES = ("reid", "top1", "position")


def default_tracker_config() -> ml_collections.ConfigDict:
    """All online-tracking fields with their default values."""
    c = ml_collections.ConfigDict()

    # --- network step (read by tracking/network.py inside jit) ---
    c.input_size = (512, 736)  # (H, W) the frame is resized into, keeping its aspect ratio
    c.pre_nms_top_k = 1000  # locations kept per FPN level before NMS
    c.nms_iou_threshold = 0.6
    c.max_detections = 100  # candidates per frame after NMS
    c.candidate_min_score = 0.05  # sigmoid(cls) * sigmoid(ctr) below this is not a candidate

    # --- target selection: 'reid' (full tracker), 'top1' (released), 'position' ---
    c.selection_mode = "reid"
    c.position_top_k = 5  # 'position': nearest to the last box among this many best
    c.detection_min_score = 0.1  # candidates below this are ignored by every mode
    c.absent_confidence = 0.1  # a confidence below this means "target absent, box held"

    # --- Kalman filter on (cx, cy, w/h, h), constant velocity ---
    c.kalman_std_weight_position = 1.0 / 20
    c.kalman_std_weight_velocity = 1.0 / 160

    # --- tracklet association ('reid' mode) ---
    c.embedding_momentum = 0.9  # smoothed = momentum * old + (1 - momentum) * new
    c.motion_gate_threshold = 9.4877  # chi2 0.95 quantile, 4 degrees of freedom
    c.appearance_weight = 0.98  # stage-1 cost = w * cosine + (1 - w) * Mahalanobis
    c.embedding_match_threshold = 0.4  # stage 1 (appearance + gated motion)
    c.iou_match_threshold = 0.5  # stage 2 (1 - IoU, tracked tracklets left over)
    c.unconfirmed_match_threshold = 0.7  # stage 3 (1 - IoU, tracklets seen once)
    c.lost_buffer = 30  # frames a lost distractor tracklet is kept (the target never expires)
    c.new_track_score_threshold = 0.4  # an unmatched candidate starts a tracklet above this

    # --- re-detection of the lost target ---
    c.redetect_similarity_threshold = 0.6  # cosine similarity to first-frame/smoothed embedding
    # Without a re-id head (zero-width embeddings) appearance re-detection is impossible; the
    # lost target then takes the best unclaimed candidate scoring at least this.
    c.redetect_score_threshold = 0.5
    # A tracklet born while the target was lost may be the target itself (seen first when its
    # appearance was still ambiguous): let re-detection take its candidate and absorb it.
    c.redetect_from_new_tracklets = True
    return c


def check_tracker_config(config) -> None:
    """Raises ValueError naming the field for values the association cannot work with."""
    if config.selection_mode not in SELECTION_MODES:
        raise ValueError(f"config.tracker.selection_mode={config.selection_mode!r}; expected one "
                         f"of {', '.join(SELECTION_MODES)}")
    if int(config.position_top_k) < 1:
        raise ValueError(f"config.tracker.position_top_k={config.position_top_k}; must be >= 1")
    if not 0.0 <= float(config.embedding_momentum) <= 1.0:
        raise ValueError(f"config.tracker.embedding_momentum={config.embedding_momentum}; "
                         "must lie in [0, 1]")
    if not 0.0 <= float(config.appearance_weight) <= 1.0:
        raise ValueError(f"config.tracker.appearance_weight={config.appearance_weight}; "
                         "must lie in [0, 1]")
    if int(config.lost_buffer) < 0:
        raise ValueError(f"config.tracker.lost_buffer={config.lost_buffer}; must be >= 0")
    for name in ("kalman_std_weight_position", "kalman_std_weight_velocity"):
        if float(config[name]) <= 0:
            raise ValueError(f"config.tracker.{name}={config[name]}; must be > 0")
