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
RESIZE_RULES = ("long_short", "fit")
CANVAS_RULES = ("pad", "fixed")
BOX_CONVENTIONS = ("continuous", "pixel_inclusive")
CANDIDATE_CLASSES = ("target", "all")
CANDIDATE_THRESHOLDS = ("score", "class_probability")
TARGET_ASSOCIATIONS = ("fairmot", "fused")


def default_tracker_config() -> ml_collections.ConfigDict:
    """All online-tracking fields with their default values."""
    c = ml_collections.ConfigDict()

    # --- frames and boxes (tracking/network.py, on the host) ---
    # (short, long) sides for 'long_short'; (H, W) bounds for 'fit' and for the fixed canvas.
    c.input_size = (512, 736)
    # 'long_short' (released, issue 17 fact 3): one scalar s = min(max(input_size) / max(h, w),
    # min(input_size) / min(h, w)), output int(w * s + 0.5) x int(h * s + 0.5), boxes times s;
    # a portrait frame gets the same long side as a landscape one, upscaling allowed.
    # 'fit' (before issue 17): s = min(H / h, W / w), round(), per-axis box factors.
    c.resize_rule = "long_short"
    # 'pad' (released, fact 5): zero-pad bottom/right to the next multiple of canvas_multiple,
    # so each frame size has its own canvas and compiles the step once. 'fixed': every frame
    # in the input_size canvas rounded up to canvas_multiple (one compile for all sizes; the
    # head's GroupNorm then also sees the extra padding, which changes its outputs).
    c.canvas = "pad"
    c.canvas_multiple = 32
    # 'continuous': x, y, w, h <-> x1, y1, x2 = x + w, y2 = y + h. 'pixel_inclusive'
    # (released, fact 1): x2 = x + w - 1, for the first box read and the boxes reported.
    c.box_convention = "continuous"
    # Clip the template box to [0, W_pad - 1] x [0, H_pad - 1] of the canvas (fact 6).
    c.clip_template_box = False

    # --- network step (read by tracking/network.py inside jit) ---
    c.pre_nms_top_k = 1000  # locations kept per FPN level before NMS
    c.nms_iou_threshold = 0.6  # a box is suppressed by a better one when IoU > this
    c.max_detections = 100  # candidates per frame after NMS
    c.candidate_min_score = 0.05  # see candidate_threshold_on
    # 'score': a candidate needs sigmoid(cls) * sigmoid(ctr) >= candidate_min_score.
    # 'class_probability' (released, fact 10): sigmoid(cls) > candidate_min_score, strictly.
    c.candidate_threshold_on = "score"
    # 'target': only the target class is ranked (per-level top-k, NMS, cap). 'all' (released,
    # facts 9-10): top-k by the best class, NMS per class, the cap over both classes together,
    # then only the target class is returned.
    c.candidate_classes = "target"
    # Clamp decoded boxes to [0, out_w] x [0, out_h] of the resized, unpadded frame (fact 9).
    c.clip_candidates = False

    # --- target selection: 'reid' (full tracker), 'top1' (released), 'position' ---
    c.selection_mode = "reid"
    c.position_top_k = 5  # 'position': nearest to the last box among this many best
    c.detection_min_score = 0.1  # candidates below this are ignored by every mode
    # Candidates of zero width or height are ignored by every mode (the released tracker
    # returns them as they are: False under the GS config, fact 11).
    c.drop_degenerate_candidates = True
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

    # --- the target's own cues ('reid' mode; tracking/target_cues.py, issue 20 part 2) ---
    # 'fairmot': the target tracklet is costed like every tracklet (stage-1 appearance fused
    # with gated motion, then IoU) and re-detected by appearance alone (the fields above).
    # 'fused': its stage-1 cost adds every cue, weighted below; it is re-detected by
    # appearance, score and a fading position prior; its confidence weighs in appearance.
    c.target_association = "fused"
    c.target_appearance_weight = 2.0  # x (1 - cosine similarity to first/smoothed embedding)
    c.target_motion_weight = 0.5  # x squared Mahalanobis distance / motion_gate_threshold
    c.target_iou_weight = 0.5  # x (1 - IoU with the Kalman-predicted box)
    c.target_score_weight = 1.0  # x (1 - detector score)
    c.target_match_threshold = 1.0  # the target tracklet takes a candidate costing <= this
    c.redetect_score_weight = 0.3  # value = (1 - w) similarity + w score + position prior
    c.redetect_position_weight = 0.0  # x exp(-centre distance / (last size x (1 + lost)))
    c.redetect_threshold = 0.8  # a lost target is re-detected when the best value >= this
    c.confidence_appearance_power = 0.0  # confidence = score x max(similarity, 0) ** power
    return c


def _check_choice(config, name, choices) -> None:
    if name in config and config[name] not in choices:
        raise ValueError(f"config.tracker.{name}={config[name]!r}; expected one of "
                         f"{', '.join(choices)}")


def check_tracker_config(config) -> None:
    """Raises ValueError naming the field for values the tracker cannot work with."""
    for name, choices in (("resize_rule", RESIZE_RULES), ("canvas", CANVAS_RULES),
                          ("box_convention", BOX_CONVENTIONS),
                          ("candidate_classes", CANDIDATE_CLASSES),
                          ("candidate_threshold_on", CANDIDATE_THRESHOLDS),
                          ("target_association", TARGET_ASSOCIATIONS)):
        _check_choice(config, name, choices)
    if config.get("canvas") == "fixed" and config.get("resize_rule") == "long_short":
        raise ValueError("config.tracker.canvas='fixed' needs config.tracker.resize_rule='fit' "
                         "('long_short' gives portrait frames a long side that would not fit)")
    if "canvas_multiple" in config and int(config.canvas_multiple) < 1:
        raise ValueError(f"config.tracker.canvas_multiple={config.canvas_multiple}; "
                         "must be >= 1")
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
    for name in ("target_appearance_weight", "target_motion_weight", "target_iou_weight",
                 "target_score_weight", "redetect_position_weight",
                 "confidence_appearance_power"):
        if name in config and float(config[name]) < 0:
            raise ValueError(f"config.tracker.{name}={config[name]}; must be >= 0")
    if "redetect_score_weight" in config and not 0.0 <= float(config.redetect_score_weight) <= 1:
        raise ValueError(f"config.tracker.redetect_score_weight={config.redetect_score_weight}; "
                         "must lie in [0, 1]")
    if int(config.lost_buffer) < 0:
        raise ValueError(f"config.tracker.lost_buffer={config.lost_buffer}; must be >= 0")
    for name in ("kalman_std_weight_position", "kalman_std_weight_velocity"):
        if float(config[name]) <= 0:
            raise ValueError(f"config.tracker.{name}={config[name]}; must be > 0")
